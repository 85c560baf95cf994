"""Mutes, and the periodic pass over open breakages (owners of long breakages, mutes ending)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.ci.models import CiBreakage, CiMute, CiPipeline
from bot.ci.service.routing import route_for
from bot.ci.settings import CiRoute
from bot.core import watches
from bot.core.db import insert_ignore, utcnow

REFRESH_EVERY = dt.timedelta(minutes=30)


async def mute(
    session: AsyncSession, repo: str, branch: str, until: dt.datetime, user: str | None
) -> None:
    values = {"repo": repo.lower(), "branch": branch, "until": until, "muted_by": user}
    statement = insert_ignore(session, CiMute).values(**values)
    statement = statement.on_conflict_do_update(
        index_elements=["repo", "branch"], set_={"until": until, "muted_by": user}
    )
    await session.execute(statement)
    await watches.changed(session, CiMute, **values)


async def unmute(session: AsyncSession, repo: str, branch: str, now: dt.datetime) -> bool:
    row = await session.scalar(
        select(CiMute).where(CiMute.repo == repo.lower(), CiMute.branch == branch)
    )
    if row is None or row.until <= now:
        return False
    row.until = now
    return True


async def _muted_now(session: AsyncSession, now: dt.datetime) -> set[tuple[str, str]]:
    rows = await session.scalars(select(CiMute).where(CiMute.until > now))
    return {(row.repo, row.branch) for row in rows}


async def sweep_open_breakages(
    session: AsyncSession,
    routes: Sequence[CiRoute],
    still_red_hours: float,
    now: dt.datetime | None = None,
) -> int:
    """Post the cards whose mute ended; ping owners of breakages red too long. Idempotent."""
    now = now or utcnow()
    muted = await _muted_now(session, now)
    rows = await session.execute(
        select(CiBreakage, CiPipeline)
        .join(CiPipeline, CiPipeline.id == CiBreakage.pipeline_id)
        .where(CiBreakage.status == "open")
        .with_for_update(of=CiBreakage)
    )
    changed = 0
    for breakage, pipeline in rows:
        if (pipeline.repo.lower(), pipeline.branch) in muted:
            continue
        if breakage.muted:
            breakage.muted = False
            changed += 1
        elif (breakage.card_refreshed_at or breakage.opened_at) + REFRESH_EVERY <= now:
            # Nothing else changes an open card while nobody pushes; keep "red for" honest
            # (the card watches its breakage, so this stamp redraws it).
            breakage.card_refreshed_at = now
        due = breakage.opened_at + dt.timedelta(hours=still_red_hours)
        if breakage.owners_notified_at is None and due <= now:
            route = route_for(routes, pipeline.repo, pipeline.branch, pipeline.branch)
            breakage.owners = list(route.owners) if route else []
            breakage.owners_notified_at = now
            changed += 1
    return changed


async def muted_until(
    session: AsyncSession, repo: str, branch: str, now: dt.datetime | None = None
) -> dt.datetime | None:
    now = now or utcnow()
    return await session.scalar(
        select(CiMute.until).where(
            func.lower(CiMute.repo) == repo.lower(), CiMute.branch == branch, CiMute.until > now
        )
    )
