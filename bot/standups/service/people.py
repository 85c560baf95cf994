"""Who takes part, when they are away (days off, loans), and their Slack time zones."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import delete, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from bot.core import tasks
from bot.core.db import affected, insert_ignore, utcnow
from bot.core.watches import changed
from bot.standups.models import (
    Standup,
    StandupAway,
    StandupParticipant,
    UserTimezone,
)
from bot.standups.service.kinds import TASK_FETCH_TZ


async def participants(
    session: AsyncSession, standup_id: int, source: str | None = None
) -> list[str]:
    """Everyone in the standup, or only those who came in one way (user, group, loan)."""
    query = select(StandupParticipant.user_id).where(StandupParticipant.standup_id == standup_id)
    if source is not None:
        query = query.where(StandupParticipant.source == source)
    return list(await session.scalars(query.order_by(StandupParticipant.id)))


async def add_participant(
    session: AsyncSession, standup_id: int, user: str, source: str, now: dt.datetime | None = None
) -> bool:
    """Add someone (no-op if already in, whatever the source). True if they were added."""
    values = {"standup_id": standup_id, "user_id": user, "source": source}
    statement = (
        insert_ignore(session, StandupParticipant)
        .values(**values, added_at=now or utcnow())
        .on_conflict_do_nothing(index_elements=["standup_id", "user_id"])
    )
    added = affected(await session.execute(statement)) == 1
    if added:
        await changed(session, StandupParticipant, **values)
        await ensure_timezones(session, [user])
    return added


async def remove_participant(
    session: AsyncSession, standup_id: int, user: str, source: str
) -> None:
    """Remove someone only if they came in that way (a loan ending keeps regular members)."""
    await remove_participants(
        session,
        standup_id,
        StandupParticipant.user_id == user,
        StandupParticipant.source == source,
    )


async def remove_participants(session: AsyncSession, standup_id: int, *where: Any) -> None:
    """Remove the participants of a standup that match `where`."""
    removed = await session.execute(
        delete(StandupParticipant)
        .where(StandupParticipant.standup_id == standup_id, *where)
        .returning(StandupParticipant.user_id, StandupParticipant.source)
    )
    for user, source in removed.all():
        await changed(
            session, StandupParticipant, standup_id=standup_id, user_id=user, source=source
        )


async def sync_group(session: AsyncSession, standup_id: int, members: list[str]) -> None:
    """Bring the user-group part of the participants in line with the group's members."""
    standup = await session.get(Standup, standup_id)
    if standup is None or standup.archived:
        return
    await remove_participants(
        session,
        standup_id,
        StandupParticipant.source == "group",
        StandupParticipant.user_id.not_in(members or [""]),
    )
    for user in members:
        await add_participant(session, standup_id, user, "group")


# -------------------------------------------------------------------- days off and loans


async def skip_days(session: AsyncSession, user: str, days: list[dt.date]) -> int:
    added = 0
    for day in days:
        added += await _away(session, user, "skip", "", "day off", day, day)
    return added


async def set_loan(
    session: AsyncSession,
    user: str,
    ref: str,
    label: str,
    start: dt.date,
    end: dt.date | None,
) -> None:
    """The person works elsewhere: their regular standups show them as on loan, and skip them."""
    row = await session.scalar(
        select(StandupAway).where(
            StandupAway.user_id == user, StandupAway.kind == "loan", StandupAway.ref == ref
        )
    )
    if row is None:
        await _away(session, user, "loan", ref, label, start, end)
    else:
        # One row per loan source: a new loan after an earlier one ended reuses it.
        row.label, row.start_date, row.end_date = label[:200], start, end


async def end_loan(session: AsyncSession, user: str, ref: str, last_day: dt.date) -> None:
    result = await session.execute(
        update(StandupAway)
        .where(StandupAway.user_id == user, StandupAway.kind == "loan", StandupAway.ref == ref)
        .values(end_date=last_day)
    )
    if affected(result):
        await changed(session, StandupAway, user_id=user, kind="loan", ref=ref, end_date=last_day)


async def _away(
    session: AsyncSession,
    user: str,
    kind: str,
    ref: str,
    label: str,
    start: dt.date,
    end: dt.date | None,
) -> int:
    values = {
        "user_id": user,
        "kind": kind,
        "ref": ref,
        "label": label[:200],
        "start_date": start,
        "end_date": end,
        "created_at": utcnow(),
    }
    statement = (
        insert_ignore(session, StandupAway)
        .values(**values)
        .on_conflict_do_nothing(index_elements=["team_id", "user_id", "kind", "ref", "start_date"])
    )
    added = affected(await session.execute(statement))
    if added:
        await changed(session, StandupAway, **values)
    return added


async def away_rows(
    session: AsyncSession, users: list[str], start: dt.date, end: dt.date
) -> list[StandupAway]:
    """Away rows of these people overlapping [start, end]."""
    if not users:
        return []
    rows = await session.scalars(
        select(StandupAway).where(
            StandupAway.user_id.in_(users),
            StandupAway.start_date <= end,
            or_(StandupAway.end_date.is_(None), StandupAway.end_date >= start),
        )
    )
    return list(rows)


# -------------------------------------------------------------------- time zones


async def ensure_timezones(session: AsyncSession, users: list[str]) -> None:
    """Ask Slack for the zones we do not know yet (one task per person at a time)."""
    if not users:
        return
    known = set(
        await session.scalars(select(UserTimezone.user_id).where(UserTimezone.user_id.in_(users)))
    )
    for user in users:
        if user not in known:
            await tasks.enqueue(
                session, TASK_FETCH_TZ, {"user": user}, key=f"{TASK_FETCH_TZ}:{user}"
            )


async def store_timezone(
    session: AsyncSession, user: str, tz: str, now: dt.datetime | None = None
) -> None:
    statement = insert_ignore(session, UserTimezone).values(
        user_id=user, tz=tz, fetched_at=now or utcnow()
    )
    statement = statement.on_conflict_do_update(
        index_elements=["user_id"], set_={"tz": tz, "fetched_at": now or utcnow()}
    )
    await session.execute(statement)
    await changed(session, UserTimezone, user_id=user, tz=tz)


async def user_timezone(session: AsyncSession, user: str) -> str | None:
    return await session.scalar(select(UserTimezone.tz).where(UserTimezone.user_id == user))


def is_away(rows: list[StandupAway], day: dt.date, standup: Standup) -> bool:
    """Skip days count everywhere; a loan only keeps people out of their regular standups."""
    for row in rows:
        covers = row.start_date <= day and (row.end_date is None or day <= row.end_date)
        if covers and (row.kind == "skip" or standup.owner_ref is None):
            return True
    return False
