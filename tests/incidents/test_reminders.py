"""Update reminders: one per overdue period, pushed back by updates and snoozes."""

from __future__ import annotations

import datetime as dt

from bot.core.db import transaction
from bot.incidents import service
from bot.incidents.models import Incident, Reminder
from bot.incidents.service import reminders
from tests.incidents.db import OPTS, Sessions, count, declare, with_channel


def test_reminder_periods() -> None:
    t0 = dt.datetime(2026, 1, 1, 12, 0, tzinfo=dt.UTC)

    def due(minutes_later: float, **kw: object) -> dt.datetime | None:
        args = {"declared_at": t0, "last_update_at": None, "snoozed_until": None}
        args.update(kw)  # type: ignore[arg-type]
        now = t0 + dt.timedelta(minutes=minutes_later)
        return reminders.reminder_due(interval_minutes=30, now=now, **args)  # type: ignore[arg-type]

    assert due(29) is None
    assert due(30) == due(59) == t0 + dt.timedelta(minutes=30)
    assert due(61) == t0 + dt.timedelta(minutes=60)
    assert due(50, last_update_at=t0 + dt.timedelta(minutes=25)) is None
    assert due(40, snoozed_until=t0 + dt.timedelta(minutes=45)) is None
    assert due(46, snoozed_until=t0 + dt.timedelta(minutes=45)) == t0 + dt.timedelta(minutes=45)
    assert (
        reminders.reminder_due(
            declared_at=t0, last_update_at=None, snoozed_until=None, interval_minutes=None, now=t0
        )
        is None
    )


async def test_one_reminder_per_period_until_resolution(sessions: Sessions) -> None:
    number = await declare(sessions, severity="sev1")
    waiting = await declare(sessions, severity="sev1", title="no channel yet")
    quiet = await declare(sessions, severity="sev3", title="no interval for sev3")
    await with_channel(sessions, number)
    await with_channel(sessions, quiet)
    async with sessions() as session:
        declared = (await session.get(Incident, number)).declared_at  # type: ignore[union-attr]

    async def sweep(minutes: float) -> list[int]:
        async with transaction(sessions) as session:
            now = declared + dt.timedelta(minutes=minutes)
            return await reminders.create_due_reminders(session, OPTS, now)

    assert await sweep(10) == []
    first = await sweep(31)
    assert len(first) == 1 and await sweep(32) == [] and await sweep(59) == []
    assert len(await sweep(61)) == 1
    assert await count(sessions, Reminder, Reminder.incident_id == waiting) == 0
    assert await count(sessions, Reminder, Reminder.incident_id == quiet) == 0
    async with transaction(sessions) as session:
        incident = await session.get(Incident, number)
        assert incident is not None
        await service.resolve(session, OPTS, incident, "U0ALICE", "")
    assert await sweep(200) == []
    assert await count(sessions, Reminder, Reminder.incident_id == number) == 2


async def test_update_and_snooze_push_the_next_reminder(sessions: Sessions) -> None:
    number = await declare(sessions, severity="sev1")
    await with_channel(sessions, number)
    async with transaction(sessions) as session:
        incident = await session.get(Incident, number)
        assert incident is not None
        await service.post_update(session, incident, "still looking", "U0ALICE")
        reminder_base = incident.last_update_at
    assert reminder_base is not None
    async with transaction(sessions) as session:
        assert (
            await reminders.create_due_reminders(
                session, OPTS, reminder_base + dt.timedelta(minutes=29)
            )
            == []
        )
        [reminder] = await reminders.create_due_reminders(
            session, OPTS, reminder_base + dt.timedelta(minutes=31)
        )
    async with transaction(sessions) as session:
        incident = await session.get(Incident, number)
        assert incident is not None
        snoozed_at = reminder_base + dt.timedelta(minutes=33)
        until = await reminders.snooze(session, incident, reminder, "U0ALICE", 30, snoozed_at)
    async with transaction(sessions) as session:
        assert (
            await reminders.create_due_reminders(session, OPTS, until - dt.timedelta(seconds=5))
            == []
        )
        assert (
            len(
                await reminders.create_due_reminders(session, OPTS, until + dt.timedelta(seconds=1))
            )
            == 1
        )
