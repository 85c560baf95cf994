"""The rules of App Home: what a person's home shows, and whose homes a change concerns.

A home is a projected view (kind `home`, one per person, published with views.publish). It
watches the rows it is drawn from (`watching.py`), so a change elsewhere (a role, an agent task,
a standup run) redraws the homes it concerns, and only those of people who opened their home
lately. The projector does not send a home drawn the same as the one Slack has.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import TypeVar

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.ci.service import routes as ci_routes
from bot.config import Settings
from bot.core.db import insert_ignore, utcnow
from bot.home.models import HomeTab
from bot.home.service import sources, watching
from bot.standups.service import holidays as standup_holidays

log = logging.getLogger(__name__)
ACTIVE_FOR = watching.ACTIVE_FOR
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
    holidays = standup_holidays(settings)
    routes = ci_routes(settings)
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
    return row is None or row.timezone_at is None or now - row.timezone_at > TZ_FRESH


async def store_timezone(session: AsyncSession, user: str, zone: str | None) -> None:
    row = await session.get(HomeTab, user, with_for_update=True)
    if row is not None:
        row.timezone, row.timezone_at = zone or row.timezone, utcnow()


async def opened(session: AsyncSession, user: str) -> None:
    """The person opened their home: it is kept fresh from now on (its row is watched)."""
    await session.execute(
        insert_ignore(session, HomeTab)
        .values(user_id=user, opened_at=utcnow())
        .on_conflict_do_nothing(index_elements=["user_id"])
    )
    row = await session.get(HomeTab, user, with_for_update=True, populate_existing=True)
    assert row is not None
    row.opened_at = utcnow()
