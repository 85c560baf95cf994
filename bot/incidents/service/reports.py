"""Incidents as other features read them (digests, App Home): plain summaries, no Slack."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.agents import service as agents
from bot.core.access import Audience, Policy, Subject
from bot.incidents.models import FollowUp, Incident, RoleAssignment
from bot.incidents.service.access import holders, subject
from bot.incidents.service.kinds import CARD
from bot.incidents.service.state import FollowUpPr, IncidentSummary


async def _summaries(session: AsyncSession, incidents: list[Incident]) -> list[IncidentSummary]:
    result = []
    for incident in incidents:
        held = await holders(session, incident.id)
        # The first role assigned at declaration is the lead role, whatever its configured name.
        first = await session.scalar(
            select(RoleAssignment.role)
            .where(RoleAssignment.incident_id == incident.id)
            .order_by(RoleAssignment.id)
            .limit(1)
        )
        result.append(
            IncidentSummary(
                id=incident.id,
                number=incident.number,
                title=incident.title,
                severity=incident.severity,
                status=incident.status,
                private=incident.private,
                channel_id=incident.channel_id,
                reporter_id=incident.reporter_id,
                commander_id=held.get(first) if first else None,
                declared_at=incident.declared_at,
                resolved_at=incident.resolved_at,
            )
        )
    return result


async def open_incidents(session: AsyncSession) -> list[IncidentSummary]:
    rows = await session.scalars(
        select(Incident).where(Incident.resolved_at.is_(None)).order_by(Incident.id)
    )
    return await _summaries(session, list(rows))


async def open_incidents_visible_to(
    session: AsyncSession, policy: Policy, user_id: str
) -> list[IncidentSummary]:
    """Open incidents for `/incident list`: private ones only for the people involved."""
    rows = await session.scalars(
        select(Incident).where(Incident.resolved_at.is_(None)).order_by(Incident.id)
    )

    async def subject_of(incident: Incident) -> Subject:
        return await subject(session, incident)

    visible = await policy.visible(Audience.person(user_id), list(rows), subject_of)
    return await _summaries(session, visible)


async def opened_between(
    session: AsyncSession, start: dt.datetime, end: dt.datetime
) -> list[IncidentSummary]:
    rows = await session.scalars(
        select(Incident)
        .where(Incident.declared_at >= start, Incident.declared_at < end)
        .order_by(Incident.id)
    )
    return await _summaries(session, list(rows))


async def resolved_between(
    session: AsyncSession, start: dt.datetime, end: dt.datetime
) -> list[IncidentSummary]:
    rows = await session.scalars(
        select(Incident)
        .where(Incident.resolved_at >= start, Incident.resolved_at < end)
        .order_by(Incident.id)
    )
    return await _summaries(session, list(rows))


async def mean_time_to_resolve(
    session: AsyncSession, start: dt.datetime, end: dt.datetime
) -> dt.timedelta | None:
    """Mean of (resolved - declared) over incidents resolved in [start, end); None if none."""
    rows = (
        await session.execute(
            select(Incident.declared_at, Incident.resolved_at).where(
                Incident.resolved_at >= start, Incident.resolved_at < end
            )
        )
    ).all()
    # `resolved_at >= start` leaves out open incidents: `resolved` is never None here.
    spans = [resolved - declared for declared, resolved in rows if resolved is not None]
    if not spans:
        return None
    return sum(spans, dt.timedelta()) / len(spans)


async def open_incidents_for(
    session: AsyncSession, user_id: str
) -> list[tuple[IncidentSummary, tuple[str, ...]]]:
    """A person's open incidents, with the roles they hold now (reporters with none included)."""
    result = []
    for summary in await open_incidents(session):
        held = await holders(session, summary.id)
        roles = tuple(role for role, holder in held.items() if holder == user_id)
        if roles or summary.reporter_id == user_id:
            result.append((summary, roles))
    return result


async def followup_prs_between(
    session: AsyncSession, start: dt.datetime, end: dt.datetime
) -> list[FollowUpPr]:
    """Pull requests the coding agents opened in [start, end) for incidents' follow-ups."""
    opened = await agents.watched_prs_between(session, CARD, start, end)
    found: list[FollowUpPr] = []
    for pr in opened:
        followup = await session.scalar(
            select(FollowUp).where(FollowUp.agent_request_id == pr.request_id).limit(1)
        )
        incident = await session.get(Incident, followup.incident_id) if followup else None
        if followup is None or incident is None or str(incident.id) != pr.watch_id:
            continue
        [summary] = await _summaries(session, [incident])
        found.append(FollowUpPr(summary, followup.text, pr.attempt, pr.url, pr.opened_at))
    return found
