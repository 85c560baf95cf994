"""Update reminders, derived from stored times so they survive restarts and never double up."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.core.db import affected, insert_ignore, utcnow
from bot.core.watches import changed
from bot.incidents.models import Incident, Reminder
from bot.incidents.service.access import holders, require_open
from bot.incidents.service.kinds import SNOOZE_MINUTES
from bot.incidents.service.state import Options

__all__ = ["SNOOZE_MINUTES", "create_due_reminders", "reminder_due", "snooze"]


def reminder_due(
    *,
    declared_at: dt.datetime,
    last_update_at: dt.datetime | None,
    snoozed_until: dt.datetime | None,
    interval_minutes: int | None,
    now: dt.datetime,
) -> dt.datetime | None:
    """The start of the overdue period `now` is in, or None when no update is owed.

    Derived from stored times only, so every sweep (any replica, after any restart) computes the
    same period, and the unique (incident, due_at) row allows one reminder per period.
    """
    if not interval_minutes or interval_minutes <= 0:
        return None
    interval = dt.timedelta(minutes=interval_minutes)
    first = (last_update_at or declared_at) + interval
    if snoozed_until is not None and snoozed_until > first:
        first = snoozed_until
    if now < first:
        return None
    periods = (now - first) // interval
    return first + periods * interval


async def create_due_reminders(
    session: AsyncSession, opts: Options, now: dt.datetime | None = None
) -> list[int]:
    """Insert a reminder row for every incident owing an update now; ids of the new ones."""
    now = now or utcnow()
    open_incidents = await session.scalars(
        select(Incident).where(Incident.resolved_at.is_(None), Incident.channel_id.is_not(None))
    )
    created: list[int] = []
    for incident in list(open_incidents):
        due = reminder_due(
            declared_at=incident.declared_at,
            last_update_at=incident.last_update_at,
            snoozed_until=incident.snoozed_until,
            interval_minutes=opts.interval_minutes(incident.severity),
            now=now,
        )
        if due is None:
            continue
        commander = (await holders(session, incident.id)).get(opts.lead_role)
        result = await session.execute(
            insert_ignore(session, Reminder)
            .values(incident_id=incident.id, due_at=due, commander_id=commander, created_at=now)
            .on_conflict_do_nothing(index_elements=["incident_id", "due_at"])
        )
        if affected(result) != 1:
            continue
        reminder_id = await session.scalar(
            select(Reminder.id).where(Reminder.incident_id == incident.id, Reminder.due_at == due)
        )
        assert reminder_id is not None
        await changed(session, Reminder, id=reminder_id)
        created.append(reminder_id)
    return created


async def snooze(
    session: AsyncSession,
    incident: Incident,
    reminder_id: int,
    actor: str,
    minutes: int,
    now: dt.datetime | None = None,
) -> dt.datetime:
    require_open(incident)
    until = (now or utcnow()) + dt.timedelta(minutes=minutes)
    incident.snoozed_until = until
    reminder = await session.get(Reminder, reminder_id)
    if reminder is not None and reminder.incident_id == incident.id:
        reminder.snoozed_by = actor
        reminder.snoozed_until = until
    return until
