"""Reading incidents: snapshots for the views, and summaries for other features."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.agents import service as agents
from bot.core.projector import NotReady, posted_ts
from bot.incidents.models import (
    FollowUp,
    Incident,
    Reminder,
    RoleAssignment,
    TimelineEntry,
)
from bot.incidents.service.access import holders
from bot.incidents.service.kinds import ANNOUNCEMENT
from bot.incidents.service.state import (
    EntryState,
    FollowUpAgent,
    FollowUpState,
    IncidentState,
    LatePrsState,
    Options,
    ReminderState,
    RoleDmState,
    UpdateState,
)


def entry_state(row: TimelineEntry) -> EntryState:
    return EntryState(
        id=row.id,
        kind=row.kind,
        text=row.text,
        author_id=row.author_id,
        occurred_at=row.occurred_at,
        message_ts=row.message_ts,
    )


async def incident_state(
    session: AsyncSession, opts: Options, incident_id: int
) -> IncidentState | None:
    incident = await session.get(Incident, incident_id)
    if incident is None:
        return None
    held = await holders(session, incident_id)
    entries = await session.scalars(
        select(TimelineEntry)
        .where(TimelineEntry.incident_id == incident_id)
        .order_by(TimelineEntry.occurred_at, TimelineEntry.id)
    )
    timeline = tuple(entry_state(row) for row in entries)
    followups = await followup_states(session, incident_id)
    updates = [entry for entry in timeline if entry.kind == "update"]
    return IncidentState(
        id=incident.id,
        number=incident.number,
        title=incident.title,
        description=incident.description,
        severity=incident.severity,
        status=incident.status,
        private=incident.private,
        reporter_id=incident.reporter_id,
        channel_id=incident.channel_id,
        channel_name=incident.channel_name,
        declared_at=incident.declared_at,
        mitigated_at=incident.mitigated_at,
        resolved_at=incident.resolved_at,
        resolved_by=incident.resolved_by,
        summary=incident.summary,
        last_update_at=incident.last_update_at,
        # Configured roles first, in their order; a role removed from config stays visible.
        roles=tuple((role, held.get(role)) for role in opts.roles)
        + tuple((role, user) for role, user in held.items() if role not in opts.roles),
        followups=followups,
        timeline=timeline,
        options=opts,
        last_update=updates[-1] if updates else None,
    )


async def followup_states(session: AsyncSession, incident_id: int) -> tuple[FollowUpState, ...]:
    """The incident's follow-ups, with the agents' work on those sent to them."""
    rows = list(
        await session.scalars(
            select(FollowUp).where(FollowUp.incident_id == incident_id).order_by(FollowUp.id)
        )
    )
    asked = [row.agent_request_id for row in rows if row.agent_request_id is not None]
    briefs = await agents.request_briefs(session, asked)
    return tuple(
        FollowUpState(
            id=row.id,
            text=row.text,
            owner_id=row.owner_id,
            agent=_agent(briefs.get(row.agent_request_id or 0)),
            agent_requested=row.agent_request_id is not None,
        )
        for row in rows
    )


async def late_prs_state(session: AsyncSession, incident_id: int) -> LatePrsState | None:
    """The incident's postmortem draft and its follow-ups' pull requests (the view tells which
    the draft does not link); None before the draft is written."""
    incident = await session.get(Incident, incident_id)
    if incident is None or incident.postmortem_md is None or not incident.channel_id:
        return None
    prs = tuple(
        (followup.text, attempt, url)
        for followup in await followup_states(session, incident_id)
        if followup.agent is not None
        for attempt, url in followup.agent.prs
    )
    return LatePrsState(incident.number, incident.channel_id, incident.postmortem_md, prs)


def _agent(brief: agents.RequestBrief | None) -> FollowUpAgent | None:
    if brief is None:
        return None
    return FollowUpAgent(
        request_id=brief.request_id,
        repo=brief.repo,
        attempts=brief.attempts,
        finished=brief.finished,
        state=brief.state,
        prs=brief.prs,
    )


async def update_state(
    session: AsyncSession, opts: Options, entry_id: int, *, in_thread: bool
) -> UpdateState | None:
    entry = await session.get(TimelineEntry, entry_id)
    if entry is None:
        return None
    incident = await incident_state(session, opts, entry.incident_id)
    if incident is None:
        return None
    if in_thread:
        if incident.private or opts.announce_channel is None:
            return UpdateState(incident=incident, entry=entry_state(entry), channel="")
        # Raises NotReady until the announcement is posted; the projector tries again.
        channel, ts = await posted_ts(session, ANNOUNCEMENT, incident.id)
        return UpdateState(
            incident=incident, entry=entry_state(entry), channel=channel, thread_ts=ts
        )
    if incident.channel_id is None:
        raise NotReady(f"incident {incident.id} has no channel yet")
    return UpdateState(incident=incident, entry=entry_state(entry), channel=incident.channel_id)


async def role_dm_state(
    session: AsyncSession, opts: Options, assignment_id: int
) -> RoleDmState | None:
    assignment = await session.get(RoleAssignment, assignment_id)
    if assignment is None:
        return None
    incident = await incident_state(session, opts, assignment.incident_id)
    if incident is None:
        return None
    if incident.channel_id is None and incident.is_open:
        # The DM links the channel, so it waits for it.
        raise NotReady(f"incident {incident.id} has no channel yet")
    return RoleDmState(
        incident=incident,
        role=assignment.role,
        user_id=assignment.user_id,
        assigned_by=assignment.assigned_by,
    )


async def reminder_state(
    session: AsyncSession, opts: Options, reminder_id: int
) -> ReminderState | None:
    reminder = await session.get(Reminder, reminder_id)
    if reminder is None:
        return None
    incident = await incident_state(session, opts, reminder.incident_id)
    if incident is None:
        return None
    updated = incident.last_update_at is not None and incident.last_update_at > reminder.created_at
    return ReminderState(
        id=reminder.id,
        incident=incident,
        due_at=reminder.due_at,
        commander_id=reminder.commander_id,
        snoozed_by=reminder.snoozed_by,
        snoozed_until=reminder.snoozed_until,
        updated_since=updated,
    )
