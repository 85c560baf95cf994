"""The code red's timeline and day count, its one-off notices, and its shared refusal type."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.codered.models import CodeRed, CodeRedEvent, CodeRedNotice
from bot.codered.service.options import zone
from bot.codered.service.watching import ANNOUNCED
from bot.core.db import affected, insert_ignore, utcnow
from bot.core.watches import changed
from bot.standups import service as standups

MAX_TEXT = 2000


class CodeRedError(Exception):
    """A refusal the person should read as is."""


async def local_today(session: AsyncSession, user: str, now: dt.datetime) -> dt.date:
    """The date where this person is (their Slack time zone, UTC until it is known)."""
    return now.astimezone(zone(await standups.user_timezone(session, user))).date()


def day_number(codered: CodeRed, owner_zone: dt.tzinfo, now: dt.datetime) -> int:
    """Day 1 is the day it was declared, in the owner's time zone."""
    start = codered.declared_at.astimezone(owner_zone).date()
    return (now.astimezone(owner_zone).date() - start).days + 1


def day_start(owner_zone: dt.tzinfo, now: dt.datetime) -> dt.datetime:
    local = now.astimezone(owner_zone)
    return dt.datetime.combine(local.date(), dt.time(), owner_zone).astimezone(dt.UTC)


async def add_event(
    session: AsyncSession,
    codered: CodeRed,
    kind: str,
    actor: str,
    text: str,
    now: dt.datetime | None = None,
) -> CodeRedEvent:
    event = CodeRedEvent(
        codered_id=codered.id,
        at=now or utcnow(),
        kind=kind,
        actor=actor,
        text=text[:MAX_TEXT],
        level=codered.level,
    )
    session.add(event)
    await session.flush()
    return event


async def announce(
    session: AsyncSession, codered: CodeRed, kind: str, actor: str, text: str, now: dt.datetime
) -> None:
    """A timeline entry that is also announced company-wide: the announcement view watches
    the events whose kind is one of `ANNOUNCED`."""
    assert kind in ANNOUNCED, kind
    await add_event(session, codered, kind, actor, text, now)


async def add_notice(
    session: AsyncSession,
    codered_id: int,
    key: str,
    kind: str,
    target: str,
    data: Mapping[str, object] | None = None,
) -> bool:
    """Queue a one-off message unless it exists already; True if this call created it."""
    statement = (
        insert_ignore(session, CodeRedNotice)
        .values(
            codered_id=codered_id,
            key=key,
            kind=kind,
            target=target,
            data=data or {},
            created_at=utcnow(),
        )
        .on_conflict_do_nothing(index_elements=["codered_id", "key"])
    )
    if affected(await session.execute(statement)) != 1:
        return False
    notice_id = await session.scalar(
        select(CodeRedNotice.id).where(
            CodeRedNotice.codered_id == codered_id, CodeRedNotice.key == key
        )
    )
    await changed(session, CodeRedNotice, id=notice_id)
    return True
