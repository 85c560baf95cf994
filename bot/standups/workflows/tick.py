"""The scheduled heart of standups: what is due now, derived from the database and the clock.

`tick(session, now)` is called every minute by the scheduler (and directly by tests and the
demo with a chosen `now`). For every active standup and participant it works out, in that
person's zone, which prompt, reminder or cutoff has come due and writes it as a row unique on
(standup, user, local date, kind). Only the transaction whose insert lands marks the views that
watch the row dirty, so replicas racing on the same minute, or a rerun, send each message exactly
once.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.core import tasks
from bot.core.db import affected, insert_ignore
from bot.core.watches import changed
from bot.standups.models import (
    Standup,
    StandupAnswer,
    StandupAway,
    StandupDelivery,
    StandupParticipant,
    StandupRun,
    UserTimezone,
)
from bot.standups.service import schedule
from bot.standups.service.kinds import TASK_FETCH_TZ, TASK_SYNC_GROUP
from bot.standups.service.people import away_rows, ensure_timezones, is_away

Key = tuple[int, str, dt.date]


@dataclass
class TickReport:
    prompts: int = 0
    reminders: int = 0
    cutoffs: int = 0


@dataclass
class _World:
    """What one tick reads up front, so the per-person loop issues no queries of its own."""

    zones: dict[str, str]
    kinds: dict[Key, set[str]]
    answered: set[Key]
    away: dict[str, list[StandupAway]]


async def tick(
    session: AsyncSession,
    now: dt.datetime,
    *,
    holidays: frozenset[dt.date] = frozenset(),
    tz_refresh: dt.timedelta = dt.timedelta(hours=24),
) -> TickReport:
    report = TickReport()
    standups = list(
        await session.scalars(
            select(Standup).where(Standup.paused.is_(False), Standup.archived.is_(False))
        )
    )
    if not standups:
        return report
    await _refresh_groups(session, standups, now)
    people = await _participants(session, [standup.id for standup in standups])
    world = await _read_world(session, standups, people, now, tz_refresh)
    for standup in standups:
        for person in people.get(standup.id, []):
            await _person(session, standup, person, now, holidays, world, report)
    return report


async def _refresh_groups(session: AsyncSession, standups: list[Standup], now: dt.datetime) -> None:
    """User groups change; read each standup's group again once a day."""
    for standup in standups:
        if standup.usergroup:
            await tasks.enqueue(
                session,
                TASK_SYNC_GROUP,
                {"standup": standup.id, "group": standup.usergroup},
                key=f"{TASK_SYNC_GROUP}:{standup.id}:{now:%Y%m%d}",
            )


async def _participants(
    session: AsyncSession, standup_ids: list[int]
) -> dict[int, list[StandupParticipant]]:
    rows = await session.scalars(
        select(StandupParticipant).where(StandupParticipant.standup_id.in_(standup_ids))
    )
    grouped: dict[int, list[StandupParticipant]] = defaultdict(list)
    for row in rows:
        grouped[row.standup_id].append(row)
    return grouped


async def _read_world(
    session: AsyncSession,
    standups: list[Standup],
    people: dict[int, list[StandupParticipant]],
    now: dt.datetime,
    tz_refresh: dt.timedelta,
) -> _World:
    users = sorted({p.user_id for group in people.values() for p in group})
    zones: dict[str, str] = {}
    for row in await session.scalars(select(UserTimezone).where(UserTimezone.user_id.in_(users))):
        zones[row.user_id] = row.tz
        if row.fetched_at < now - tz_refresh:
            key = f"{TASK_FETCH_TZ}:{row.user_id}:{now:%Y%m%d}"
            await tasks.enqueue(session, TASK_FETCH_TZ, {"user": row.user_id}, key=key)
    await ensure_timezones(session, [user for user in users if user not in zones])
    since = now.date() - dt.timedelta(days=3)
    ids = [standup.id for standup in standups]
    kinds: dict[Key, set[str]] = defaultdict(set)
    for delivery in await session.execute(
        select(
            StandupDelivery.standup_id,
            StandupDelivery.user_id,
            StandupDelivery.run_date,
            StandupDelivery.kind,
        ).where(StandupDelivery.standup_id.in_(ids), StandupDelivery.run_date >= since)
    ):
        kinds[(delivery[0], delivery[1], delivery[2])].add(delivery[3])
    answered = {
        (row[0], row[1], row[2])
        for row in await session.execute(
            select(StandupAnswer.standup_id, StandupAnswer.user_id, StandupAnswer.run_date).where(
                StandupAnswer.standup_id.in_(ids), StandupAnswer.run_date >= since
            )
        )
    }
    away: dict[str, list[StandupAway]] = defaultdict(list)
    for note in await away_rows(session, users, since, now.date() + dt.timedelta(days=2)):
        away[note.user_id].append(note)
    return _World(zones=zones, kinds=kinds, answered=answered, away=away)


async def _person(
    session: AsyncSession,
    standup: Standup,
    person: StandupParticipant,
    now: dt.datetime,
    holidays: frozenset[dt.date],
    world: _World,
    report: TickReport,
) -> None:
    zone = schedule.zone(standup.fixed_tz or world.zones.get(person.user_id))
    if zone is None:
        return  # the zone is being fetched; the next tick picks this person up
    days = schedule.days_from_column(standup.days)
    for run_date in schedule.candidate_dates(now, zone):
        if run_date.weekday() not in days or run_date in holidays:
            continue
        if is_away(world.away.get(person.user_id, []), run_date, standup):
            continue
        moments = schedule.moments(
            run_date, standup.minute_of_day, zone, standup.reminder_minutes, standup.cutoff_minutes
        )
        # Nobody is asked for a day that had started before they joined.
        if now < moments.prompt_at or moments.prompt_at < person.added_at:
            continue
        key = (standup.id, person.user_id, run_date)
        await _due(session, standup, key, moments, now, world, report)


async def _due(
    session: AsyncSession,
    standup: Standup,
    key: Key,
    moments: schedule.Moments,
    now: dt.datetime,
    world: _World,
    report: TickReport,
) -> None:
    kinds = world.kinds.get(key, set())
    if now < moments.cutoff_at:
        reminder_due = now >= moments.reminder_at and key not in world.answered
        if "prompt" not in kinds:
            kind = "prompt"
        elif "reminder" not in kinds and reminder_due:
            kind = "reminder"
        else:
            return
    elif "prompt" in kinds and "cutoff" not in kinds:
        kind = "cutoff"
    else:
        return
    if await _deliver(session, standup, key, kind, moments):
        setattr(report, f"{kind}s", getattr(report, f"{kind}s") + 1)


async def ensure_run(session: AsyncSession, standup_id: int, run_date: dt.date) -> StandupRun:
    values = {"standup_id": standup_id, "run_date": run_date, "created_at": dt.datetime.now(dt.UTC)}
    result = await session.execute(
        insert_ignore(session, StandupRun)
        .values(**values)
        .on_conflict_do_nothing(index_elements=["standup_id", "run_date"])
    )
    run = await session.scalar(
        select(StandupRun).where(
            StandupRun.standup_id == standup_id, StandupRun.run_date == run_date
        )
    )
    assert run is not None
    if affected(result):
        await changed(session, StandupRun, id=run.id, **values)
    return run


async def _deliver(
    session: AsyncSession, standup: Standup, key: Key, kind: str, moments: schedule.Moments
) -> bool:
    """Insert the row; only the transaction whose insert lands marks the views of it dirty."""
    _, user, run_date = key
    run = await ensure_run(session, standup.id, run_date)
    values = {
        "standup_id": standup.id,
        "run_id": run.id,
        "user_id": user,
        "run_date": run_date,
        "kind": kind,
        "prompt_at": moments.prompt_at,
        "cutoff_at": moments.cutoff_at,
        "created_at": dt.datetime.now(dt.UTC),
    }
    statement = (
        insert_ignore(session, StandupDelivery)
        .values(**values)
        .on_conflict_do_nothing(index_elements=["standup_id", "user_id", "run_date", "kind"])
    )
    if affected(await session.execute(statement)) != 1:
        return False
    delivery_id = await session.scalar(
        select(StandupDelivery.id).where(
            StandupDelivery.standup_id == standup.id,
            StandupDelivery.user_id == user,
            StandupDelivery.run_date == run_date,
            StandupDelivery.kind == kind,
        )
    )
    await changed(session, StandupDelivery, id=delivery_id, **values)
    return True
