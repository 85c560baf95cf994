"""The rules of incidents: declare, roles, severity, status, updates, follow-ups, resolution.

Every function changes state in the caller's transaction (the views drawn from it watch the rows
it changes: `watching.py`) and enqueues the Slack side effects as durable tasks. A refusal raises
IncidentError (or UsageError) before the transaction commits, so a bad request writes nothing.

The rest of the rules live beside this module, by sub-domain: `access` (the policy, lookups and
rights), `parsing` (command text), `state` (the snapshots views draw), `queries` (loading them),
`reports` (summaries for other features), `reminders`, `timeline` (marked messages), `watching`
(which rows redraw which view) and `kinds` (view and task names).

Other features (digests, App Home) read incidents through the names re-exported in `__all__`.
"""

from __future__ import annotations

import datetime as dt
import re
import unicodedata

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.core import tasks
from bot.core.commands import UsageError
from bot.core.db import utcnow
from bot.incidents.models import FollowUp, Incident, RoleAssignment, TimelineEntry
from bot.incidents.service.access import INCIDENT, IncidentError, holders, is_lead, require_open
from bot.incidents.service.kinds import TASK_INVITE, TASK_OPEN_CHANNEL, TASK_POSTMORTEM, TASK_TOPIC
from bot.incidents.service.numbering import next_number
from bot.incidents.service.parsing import MAX_TITLE
from bot.incidents.service.reports import (
    followup_prs_between,
    mean_time_to_resolve,
    open_incidents,
    open_incidents_for,
    opened_between,
    resolved_between,
)
from bot.incidents.service.state import FollowUpPr, IncidentSummary, Options

__all__ = [
    # Tables other features' views watch (App Home).
    "Incident",
    "RoleAssignment",
    "INCIDENT",
    "IncidentError",
    "IncidentSummary",
    "FollowUpPr",
    "followup_prs_between",
    "mean_time_to_resolve",
    "open_incidents",
    "open_incidents_for",
    "opened_between",
    "resolved_between",
]
MAX_CHANNEL_NAME = 80


# ------------------------------------------------------------------ declare


_SLACK_LABELLED = re.compile(r"<[^<>|]*\|([^<>]*)>")
_SLACK_CONTROL = re.compile(r"<[^<>]*>")


def slugify(title: str, limit: int) -> str:
    # Slack markup in a title is not a name: keep a link's label, drop mentions and broadcasts.
    title = _SLACK_CONTROL.sub(" ", _SLACK_LABELLED.sub(r" \1 ", title))
    ascii_title = unicodedata.normalize("NFKD", title).encode("ascii", "ignore").decode()
    slug = re.sub(r"[^a-z0-9]+", "-", ascii_title.lower()).strip("-")
    return slug[:limit].rstrip("-")


def channel_name(
    prefix: str, declared_at: dt.datetime, title: str, number: int, attempt: int
) -> str:
    """`inc-20260314-db-down`, then `-2`, `-3`... when Slack says the name is taken."""
    suffix = "" if attempt <= 1 else f"-{attempt}"
    head = f"{prefix}-{declared_at:%Y%m%d}-"
    slug = slugify(title, MAX_CHANNEL_NAME - len(head) - len(suffix)) or str(number)
    return f"{head}{slug}{suffix}"


def clean_title(title: str) -> str:
    title = " ".join(title.split())
    if not title:
        raise UsageError("The incident needs a title.")
    if len(title) > MAX_TITLE:
        raise UsageError(f"The title is too long ({len(title)} characters, at most {MAX_TITLE}).")
    return title


def check_severity(opts: Options, severity: str) -> str:
    known = {s.lower(): s for s in opts.severities}
    if severity.lower() not in known:
        raise UsageError(f"Unknown severity `{severity}`; use one of {', '.join(opts.severities)}.")
    return known[severity.lower()]


def check_status(opts: Options, status: str) -> str:
    known = {s.lower(): s for s in opts.statuses}
    if status.lower() not in known:
        raise UsageError(f"Unknown status `{status}`; use one of {', '.join(opts.statuses)}.")
    return known[status.lower()]


async def declare(
    session: AsyncSession,
    opts: Options,
    *,
    title: str,
    reporter: str,
    severity: str | None = None,
    description: str = "",
    private: bool = False,
    commander: str | None = None,
    now: dt.datetime | None = None,
) -> Incident:
    now = now or utcnow()
    title = clean_title(title)
    severity = check_severity(opts, severity) if severity else opts.severities[-1]
    incident = Incident(
        # After the checks: a refused declaration does not make the workspace's others wait.
        number=await next_number(session),
        title=title,
        description=description.strip(),
        severity=severity,
        status=opts.statuses[0],
        private=private,
        reporter_id=reporter,
        declared_at=now,
        last_update_at=None,
        summary="",
    )
    session.add(incident)
    await session.flush()
    await _timeline(session, incident.id, "declared", f"Declared: {incident.title}", reporter, now)
    await _assign(session, opts, incident, opts.lead_role, commander or reporter, reporter, now)
    await tasks.enqueue(
        session,
        TASK_OPEN_CHANNEL,
        {"incident": incident.id},
        key=f"{TASK_OPEN_CHANNEL}:{incident.id}",
    )
    return incident


async def _timeline(
    session: AsyncSession,
    incident_id: int,
    kind: str,
    text: str,
    author: str | None,
    at: dt.datetime,
) -> TimelineEntry:
    entry = TimelineEntry(
        incident_id=incident_id, kind=kind, text=text, author_id=author, occurred_at=at
    )
    session.add(entry)
    await session.flush()
    return entry


# ------------------------------------------------------------------ roles


async def _assign(
    session: AsyncSession,
    opts: Options,
    incident: Incident,
    role: str,
    user: str,
    actor: str,
    now: dt.datetime,
) -> RoleAssignment:
    assignment = RoleAssignment(
        incident_id=incident.id, role=role, user_id=user, assigned_by=actor, assigned_at=now
    )
    session.add(assignment)
    await session.flush()
    await tasks.enqueue(session, TASK_INVITE, {"incident": incident.id, "users": [user]})
    if role == opts.lead_role:
        await tasks.enqueue(session, TASK_TOPIC, {"incident": incident.id})
    return assignment


async def assign_role(
    session: AsyncSession, opts: Options, incident: Incident, role: str, user: str, actor: str
) -> bool:
    """Give `role` to `user`. False when they already hold it (nothing changes)."""
    require_open(incident)
    wanted = {r.lower(): r for r in opts.roles}
    if role.lower() not in wanted:
        raise UsageError(f"Unknown role `{role}`; roles are {', '.join(opts.roles)}.")
    role = wanted[role.lower()]
    current = (await holders(session, incident.id)).get(role)
    if current == user:
        return False
    if (
        current is not None
        and actor != current
        and not await is_lead(session, opts, incident, actor)
    ):
        raise IncidentError(
            f"<@{current}> is {role} of incident #{incident.number}. Only the {opts.lead_role}, "
            "the reporter or an admin can hand the role to someone else."
        )
    now = utcnow()
    await _assign(session, opts, incident, role, user, actor, now)
    await _timeline(session, incident.id, "role", f"<@{user}> is now {role}", actor, now)
    return True


# ------------------------------------------------------------------ severity and status


async def set_severity(
    session: AsyncSession, opts: Options, incident: Incident, severity: str, actor: str
) -> bool:
    severity = check_severity(opts, severity)
    require_open(incident)
    if severity == incident.severity:
        return False
    text = f"Severity changed from {incident.severity} to {severity}"
    incident.severity = severity
    await _timeline(session, incident.id, "severity", text, actor, utcnow())
    await tasks.enqueue(session, TASK_TOPIC, {"incident": incident.id})
    return True


async def set_status(
    session: AsyncSession, opts: Options, incident: Incident, status: str, actor: str
) -> bool:
    status = check_status(opts, status)
    require_open(incident)
    if status == opts.resolved_status:
        await resolve(session, opts, incident, actor, "")
        return True
    if status == incident.status:
        return False
    now = utcnow()
    text = f"Status changed from {incident.status} to {status}"
    incident.status = status
    if incident.mitigated_at is None and opts.counts_as_mitigated(status):
        incident.mitigated_at = now
    await _timeline(session, incident.id, "status", text, actor, now)
    await tasks.enqueue(session, TASK_TOPIC, {"incident": incident.id})
    return True


# ------------------------------------------------------------------ updates, notes, follow-ups


async def post_update(session: AsyncSession, incident: Incident, text: str, actor: str) -> int:
    text = text.strip()
    if not text:
        raise UsageError("Say what the update is: `/incident update <text>`.")
    require_open(incident)
    now = utcnow()
    entry = await _timeline(session, incident.id, "update", text, actor, now)
    incident.last_update_at = now
    return entry.id


async def add_note(session: AsyncSession, incident: Incident, text: str, actor: str) -> int:
    text = text.strip()
    if not text:
        raise UsageError("Say what to note: `/incident note <text>`.")
    entry = await _timeline(session, incident.id, "note", text, actor, utcnow())
    return entry.id


async def add_followup(
    session: AsyncSession, incident: Incident, text: str, owner: str | None, actor: str
) -> int:
    text = text.strip()
    if not text:
        raise UsageError("Say what needs doing: `/incident followup <text> [@owner]`.")
    followup = FollowUp(incident_id=incident.id, text=text, owner_id=owner, created_by=actor)
    session.add(followup)
    await session.flush()
    return followup.id


# ------------------------------------------------------------------ resolve


async def resolve(
    session: AsyncSession, opts: Options, incident: Incident, actor: str, summary: str
) -> None:
    require_open(incident)
    if not await is_lead(session, opts, incident, actor):
        raise IncidentError(
            f"Only the {opts.lead_role}, the reporter or an admin can resolve incident "
            f"#{incident.number}."
        )
    now = utcnow()
    incident.status = opts.resolved_status
    incident.resolved_at = now
    incident.resolved_by = actor
    incident.mitigated_at = incident.mitigated_at or now
    incident.summary = summary.strip()
    text = "Resolved" + (f": {incident.summary}" if incident.summary else "")
    await _timeline(session, incident.id, "resolved", text, actor, now)
    await tasks.enqueue(session, TASK_TOPIC, {"incident": incident.id})
    await tasks.enqueue(
        session, TASK_POSTMORTEM, {"incident": incident.id}, key=f"{TASK_POSTMORTEM}:{incident.id}"
    )


# ------------------------------------------------------------------ channel and postmortem


async def store_channel(
    session: AsyncSession, incident_id: int, channel_id: str, name: str
) -> None:
    incident = await session.get(Incident, incident_id)
    if incident is None or incident.channel_id is not None:
        return
    # Views that waited for the channel (role DMs link it, updates are posted in it) watch it
    # arrive, so they go now, not at their next retry.
    incident.channel_id = channel_id
    incident.channel_name = name


async def channel_taken(session: AsyncSession, channel_id: str) -> bool:
    found = await session.scalar(select(Incident.id).where(Incident.channel_id == channel_id))
    return found is not None


async def store_postmortem(session: AsyncSession, incident_id: int, markdown: str, tz: str) -> None:
    incident = await session.get(Incident, incident_id)
    if incident is not None and incident.postmortem_md is None:
        incident.postmortem_md = markdown
        incident.postmortem_tz = tz


async def store_postmortem_file(session: AsyncSession, incident_id: int, file_id: str) -> None:
    incident = await session.get(Incident, incident_id)
    if incident is not None:
        incident.postmortem_file_id = file_id
