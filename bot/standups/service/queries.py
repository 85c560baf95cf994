"""Read models for commands and other features: standups, participation, blockers, due today.

Code red shows check-in participation and open blockers from here; digests and App Home read
`summaries`, `participation`, `open_blockers` and `due_today`.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.standups.models import (
    Standup,
    StandupAnswer,
    StandupAway,
    StandupDelivery,
    StandupParticipant,
)
from bot.standups.service import schedule
from bot.standups.service.people import is_away, participants, user_timezone

# -------------------------------------------------------------------- list and stats


@dataclass(frozen=True)
class StandupSummary:
    id: int
    name: str
    channel: str | None
    days: tuple[int, ...]
    minute_of_day: int
    fixed_tz: str | None
    reminder_minutes: int
    cutoff_minutes: int
    people: int
    usergroup: str | None
    paused: bool
    managed_by: str | None


async def summaries(session: AsyncSession) -> list[StandupSummary]:
    standups = list(
        await session.scalars(
            select(Standup).where(Standup.archived.is_(False)).order_by(Standup.name_key)
        )
    )
    return [await summary(session, standup) for standup in standups]


async def summary(session: AsyncSession, standup: Standup) -> StandupSummary:
    return StandupSummary(
        id=standup.id,
        name=standup.name,
        channel=standup.channel,
        days=schedule.days_from_column(standup.days),
        minute_of_day=standup.minute_of_day,
        fixed_tz=standup.fixed_tz,
        reminder_minutes=standup.reminder_minutes,
        cutoff_minutes=standup.cutoff_minutes,
        people=len(await participants(session, standup.id)),
        usergroup=standup.usergroup,
        paused=standup.paused,
        managed_by=standup.owner_ref.split(":")[0] if standup.owner_ref else None,
    )


@dataclass(frozen=True)
class PersonStats:
    user: str
    asked: int
    answered: int
    current_streak: int
    best_streak: int

    @property
    def rate(self) -> float:
        return self.answered / self.asked if self.asked else 0.0


async def participation(
    session: AsyncSession, standup_id: int, since: dt.date, until: dt.date
) -> list[PersonStats]:
    """Per person, over local days [since, until]: days asked, days answered, and streaks.

    A day still open (not answered, cutoff not reached) is left out, so it neither lowers the
    rate nor breaks a streak before the person had their chance.
    """
    rows = await session.execute(
        select(StandupDelivery.user_id, StandupDelivery.run_date, StandupDelivery.kind).where(
            StandupDelivery.standup_id == standup_id,
            StandupDelivery.run_date >= since,
            StandupDelivery.run_date <= until,
        )
    )
    kinds: dict[tuple[str, dt.date], set[str]] = defaultdict(set)
    for user, day, kind in rows:
        kinds[(user, day)].add(kind)
    answered = {
        (row[0], row[1])
        for row in await session.execute(
            select(StandupAnswer.user_id, StandupAnswer.run_date).where(
                StandupAnswer.standup_id == standup_id,
                StandupAnswer.run_date >= since,
                StandupAnswer.run_date <= until,
            )
        )
    }
    days_by_user: dict[str, list[tuple[dt.date, bool]]] = defaultdict(list)
    for (user, day), found in sorted(kinds.items(), key=lambda item: item[0][1]):
        done = (user, day) in answered
        if "prompt" in found and (done or "cutoff" in found):
            days_by_user[user].append((day, done))
    people = await participants(session, standup_id)
    everyone = people + sorted(set(days_by_user) - set(people))
    return [_stats(user, days_by_user.get(user, [])) for user in everyone]


def _stats(user: str, days: list[tuple[dt.date, bool]]) -> PersonStats:
    best = run = 0
    for _, done in days:
        run = run + 1 if done else 0
        best = max(best, run)
    return PersonStats(
        user=user,
        asked=len(days),
        answered=sum(1 for _, done in days if done),
        current_streak=run,
        best_streak=best,
    )


# -------------------------------------------------------------------- for code red, digests, home


@dataclass(frozen=True)
class Blocker:
    standup: str
    user: str
    text: str
    since: dt.date
    standup_id: int = 0


async def open_blockers(session: AsyncSession, standup_id: int | None = None) -> list[Blocker]:
    """Each person's latest answer per standup, when it names a blocker."""
    query = (
        select(StandupAnswer, Standup.name)
        .join(Standup, Standup.id == StandupAnswer.standup_id)
        .where(Standup.archived.is_(False) if standup_id is None else Standup.id == standup_id)
        .order_by(StandupAnswer.run_date)
    )
    latest: dict[tuple[int, str], tuple[StandupAnswer, str]] = {}
    history: dict[tuple[int, str], list[StandupAnswer]] = defaultdict(list)
    for answer, name in await session.execute(query):
        latest[(answer.standup_id, answer.user_id)] = (answer, name)
        history[(answer.standup_id, answer.user_id)].append(answer)
    found = []
    for key, (answer, name) in latest.items():
        if answer.blocker:
            since = answer.run_date
            for earlier in reversed(history[key][:-1]):
                if earlier.blocker != answer.blocker:
                    break
                since = earlier.run_date
            found.append(Blocker(name, answer.user_id, answer.blocker, since, answer.standup_id))
    return sorted(found, key=lambda blocker: (blocker.since, blocker.user))


@dataclass(frozen=True)
class BlockerCounts:
    raised: int
    cleared: int


async def blocker_counts(session: AsyncSession, standup_id: int) -> BlockerCounts:
    """Blockers raised (a new blocker text in someone's answer) and cleared (gone later)."""
    answers = await session.scalars(
        select(StandupAnswer)
        .where(StandupAnswer.standup_id == standup_id)
        .order_by(StandupAnswer.run_date, StandupAnswer.id)
    )
    raised = cleared = 0
    current: dict[str, str | None] = {}
    for answer in answers:
        before = current.get(answer.user_id)
        if answer.blocker and answer.blocker != before:
            raised += 1
        if before and answer.blocker != before:
            cleared += 1
        current[answer.user_id] = answer.blocker
    return BlockerCounts(raised=raised, cleared=cleared)


@dataclass(frozen=True)
class DueStandup:
    standup_id: int
    name: str
    channel: str | None
    prompt_at: dt.datetime
    cutoff_at: dt.datetime
    status: str  # upcoming | waiting | answered | closed


async def due_today(
    session: AsyncSession,
    user: str,
    now: dt.datetime,
    holidays: frozenset[dt.date] = frozenset(),
) -> list[DueStandup]:
    """The person's standups on their local today, with where each stands (for App Home)."""
    own_tz = await user_timezone(session, user)
    standups = await session.scalars(
        select(Standup)
        .join(StandupParticipant, StandupParticipant.standup_id == Standup.id)
        .where(
            StandupParticipant.user_id == user,
            Standup.archived.is_(False),
            Standup.paused.is_(False),
        )
    )
    away = list(await session.scalars(select(StandupAway).where(StandupAway.user_id == user)))
    due = []
    for standup in standups:
        zone = schedule.zone(standup.fixed_tz or own_tz)
        if zone is None:
            continue
        today = schedule.local_date(now, zone)
        if today.weekday() not in schedule.days_from_column(standup.days):
            continue
        if today in holidays or is_away(away, today, standup):
            continue
        moments = schedule.moments(
            today, standup.minute_of_day, zone, standup.reminder_minutes, standup.cutoff_minutes
        )
        status = await _status(session, standup.id, user, today, now, moments)
        due.append(
            DueStandup(
                standup.id,
                standup.name,
                standup.channel,
                moments.prompt_at,
                moments.cutoff_at,
                status,
            )
        )
    return sorted(due, key=lambda item: item.prompt_at)


async def _status(
    session: AsyncSession,
    standup_id: int,
    user: str,
    day: dt.date,
    now: dt.datetime,
    moments: schedule.Moments,
) -> str:
    answered = await session.scalar(
        select(StandupAnswer.id).where(
            StandupAnswer.standup_id == standup_id,
            StandupAnswer.user_id == user,
            StandupAnswer.run_date == day,
        )
    )
    if answered is not None:
        return "answered"
    if now < moments.prompt_at:
        return "upcoming"
    return "waiting" if now < moments.cutoff_at else "closed"
