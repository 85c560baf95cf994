"""Live figures for the header, read from the incidents and CI features' service functions.

A figure that cannot be read (the feature is missing, its function renamed, or its query fails)
is None and the header shows "n/a": the war room must never go dark because of another feature.
Each read runs in its own session so a failure leaves the caller's transaction untouched.
"""

from __future__ import annotations

import datetime as dt
import importlib
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Figures:
    open_incidents: int | None
    red_ci_minutes: float | None

    def fingerprint(self) -> str:
        minutes = "n/a" if self.red_ci_minutes is None else str(int(self.red_ci_minutes))
        return f"{self.open_incidents}|{minutes}"


def _function(module: str, name: str) -> Callable[..., Awaitable[Any]] | None:
    try:
        return getattr(importlib.import_module(module), name, None)
    except ImportError:
        return None


async def _read(
    session: AsyncSession, what: str, call: Callable[[AsyncSession], Awaitable[Any]]
) -> Any:
    try:
        async with AsyncSession(session.bind) as own:
            return await call(own)
    except Exception:  # another feature's failure must not take the header down
        log.warning("codered: cannot read %s", what, exc_info=True)
        return None


async def open_incidents(session: AsyncSession) -> int | None:
    function = _function("bot.incidents.service", "open_incidents")
    if function is None:
        return None
    found = await _read(session, "open incidents", function)
    return None if found is None else len(found)


async def red_ci_minutes(
    session: AsyncSession, start: dt.datetime, now: dt.datetime
) -> float | None:
    """Minutes of red CI since `start`, summed over the branches that were red."""
    function = _function("bot.ci.service", "red_minutes_by_branch")
    if function is None:
        return None
    found = await _read(session, "red CI minutes", lambda own: function(own, start, now, now))
    return None if found is None else float(sum(found.values()))


async def read(session: AsyncSession, day_start: dt.datetime, now: dt.datetime) -> Figures:
    return Figures(
        open_incidents=await open_incidents(session),
        red_ci_minutes=await red_ci_minutes(session, day_start, now),
    )
