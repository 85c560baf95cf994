"""The rules of App Home: what a person's home shows, and when it must be published again.

A home is published with views.publish, which the projector cannot express, so this feature
keeps its own small sync: `mark_dirty` bumps the person's version and enqueues one publish task
per published generation (later changes fold into the pending task). The task renders the latest
state; an unchanged view is not sent again.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import TypeVar

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.config import Settings
from bot.core import tasks
from bot.core.db import insert_ignore, utcnow
from bot.home import sources
from bot.home.models import HomeTab

log = logging.getLogger(__name__)
TASK_PUBLISH = "home.publish"
# Homes opened within this long are kept fresh by the refresh job; others wait to be opened.
ACTIVE_FOR = dt.timedelta(days=14)
TZ_FRESH = dt.timedelta(hours=24)
T = TypeVar("T")


@dataclass(frozen=True)
class HomeState:
    user: str
    timezone: str
    banner: sources.Banner | None = None
    incidents: list[sources.IncidentLine] = field(default_factory=list)
    tasks: list[sources.TaskLine] = field(default_factory=list)
    standups: list[sources.StandupLine] = field(default_factory=list)
    pipelines: list[sources.PipelineLine] = field(default_factory=list)
    ci_routed: bool = False
    # Sections that could not be read this time, shown as such rather than as "nothing".
    unavailable: tuple[str, ...] = ()


async def _read(
    sessions: async_sessionmaker[AsyncSession],
    name: str,
    read: Callable[[AsyncSession], Awaitable[T]],
    fallback: T,
    missing: list[str],
) -> T:
    try:
        async with sessions() as session:
            return await read(session)
    except Exception:  # one feature's trouble leaves the rest of the home intact
        log.exception("home section %s could not be read", name)
        missing.append(name)
        return fallback


async def home_state(
    sessions: async_sessionmaker[AsyncSession],
    settings: Settings,
    user: str,
    now: dt.datetime | None = None,
) -> HomeState:
    """Everything the person's home shows; each section read in its own session."""
    now = now or utcnow()
    holidays = frozenset(dt.date.fromisoformat(day) for day in settings.standups.holidays)
    routes = list(settings.ci.routes)
    missing: list[str] = []
    zone = await _read(sessions, "time zone", lambda s: _timezone(s, user), None, [])
    return HomeState(
        user=user,
        timezone=zone or "UTC",
        banner=await _read(sessions, "code red", sources.banner, None, missing),
        incidents=await _read(
            sessions, "incidents", lambda s: sources.my_incidents(s, user), [], missing
        ),
        tasks=await _read(
            sessions, "agent tasks", lambda s: sources.my_tasks(s, user), [], missing
        ),
        standups=await _read(
            sessions,
            "standups",
            lambda s: sources.my_standups(s, user, now, holidays),
            [],
            missing,
        ),
        pipelines=await _read(sessions, "CI", lambda s: sources.routed_ci(s, routes), [], missing),
        ci_routed=bool(routes),
        unavailable=tuple(missing),
    )


async def _timezone(session: AsyncSession, user: str) -> str | None:
    row = await session.get(HomeTab, user)
    return (row.timezone if row else None) or await sources.my_timezone(session, user)


async def timezone_stale(session: AsyncSession, user: str, now: dt.datetime) -> bool:
    row = await session.get(HomeTab, user)
    return row is not None and (row.timezone_at is None or now - row.timezone_at > TZ_FRESH)


async def store_timezone(session: AsyncSession, user: str, zone: str | None) -> None:
    row = await session.get(HomeTab, user, with_for_update=True)
    if row is not None:
        row.timezone, row.timezone_at = zone or row.timezone, utcnow()


async def mark_dirty(
    session: AsyncSession, user: str, *, opened: bool = False, force: bool = False
) -> None:
    """Ask for the person's home to be published again after this transaction.

    `force` forgets what was published (Slack has no home view for them, e.g. after a reinstall).
    """
    await session.execute(
        insert_ignore(session, HomeTab)
        .values(user_id=user, version=0, published_version=0, opened_at=utcnow())
        .on_conflict_do_nothing(index_elements=["user_id"])
    )
    row = await session.get(HomeTab, user, with_for_update=True, populate_existing=True)
    assert row is not None
    row.version += 1
    if opened:
        row.opened_at = utcnow()
    if force:
        row.content_hash = None
    await _enqueue(session, row)


async def _enqueue(session: AsyncSession, row: HomeTab) -> None:
    # One task per published generation: marks before it runs find the key taken.
    await tasks.enqueue(
        session,
        TASK_PUBLISH,
        {"user": row.user_id},
        key=f"{TASK_PUBLISH}:{row.user_id}:{row.published_version}",
    )


async def wanted_version(session: AsyncSession, user: str) -> tuple[int, str | None] | None:
    row = await session.get(HomeTab, user)
    return (row.version, row.content_hash) if row else None


async def record_published(
    session: AsyncSession, user: str, version: int, content_hash: str
) -> None:
    """The view for `version` is in Slack; publish again if the home changed meanwhile."""
    row = await session.get(HomeTab, user, with_for_update=True, populate_existing=True)
    if row is None:
        return
    row.published_version = max(row.published_version, version)
    row.content_hash = content_hash
    row.published_at = utcnow()
    if row.version > row.published_version:
        await _enqueue(session, row)


async def active_users(session: AsyncSession, now: dt.datetime) -> Sequence[str]:
    rows = await session.scalars(
        select(HomeTab.user_id)
        .where(HomeTab.opened_at >= now - ACTIVE_FOR)
        .order_by(HomeTab.user_id)
    )
    return list(rows)


def changed(content_hash: str, known: tuple[int, str | None] | None) -> bool:
    return known is None or known[1] != content_hash
