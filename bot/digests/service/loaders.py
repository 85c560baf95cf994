"""Read the state the digest view renders (the projector calls `load` with a run id)."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from bot.digests.models import DigestRun
from bot.digests.views import DigestState


def state_of(run: DigestRun) -> DigestState:
    snapshot = dict(run.snapshot or {})
    links = snapshot.pop("links", None) or {}
    return DigestState(
        run_id=run.id,
        channel=run.channel,
        timezone=run.timezone,
        period=run.period,
        fire_time=run.fire_time,
        window_start=run.window_start,
        snapshot=snapshot,
        links=links,
    )


async def load(session: AsyncSession, record_id: str) -> DigestState | None:
    run = await session.get(DigestRun, int(record_id))
    if run is None or run.status != "ready":
        return None
    return state_of(run)
