"""Leases: a row is worked on by one replica at a time, and taken over when its holder dies."""

from __future__ import annotations

import asyncio
import datetime as dt
import os
import random
import socket
import uuid
from typing import Any

from sqlalchemy import or_, update
from sqlalchemy.ext.asyncio import AsyncSession

from bot.core.db import affected, utcnow


def new_replica_id() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


def lease_free(model: Any, now: dt.datetime) -> Any:
    return or_(model.lease_owner.is_(None), model.lease_expires < now)


async def try_lease(
    session: AsyncSession, model: Any, row_id: int, owner: str, seconds: float
) -> bool:
    """Take the lease on one row if nobody holds a live one; atomic on SQLite and PostgreSQL."""
    now = utcnow()
    result = await session.execute(
        update(model)
        .where(model.id == row_id, lease_free(model, now))
        .values(lease_owner=owner, lease_expires=now + dt.timedelta(seconds=seconds))
    )
    return affected(result) == 1


async def renew_leases(
    session: AsyncSession, model: Any, row_ids: list[int], owner: str, seconds: float
) -> None:
    if not row_ids:
        return
    await session.execute(
        update(model)
        .where(model.id.in_(row_ids), model.lease_owner == owner)
        .values(lease_expires=utcnow() + dt.timedelta(seconds=seconds))
    )


def backoff_seconds(attempt: int, base: float = 1.0, cap: float = 300.0) -> float:
    """Exponential backoff with full jitter, so retries from many rows do not arrive together."""
    return random.uniform(base / 2, min(cap, base * 2 ** max(0, attempt - 1)))


async def wait_for_wake(wake: asyncio.Event, seconds: float) -> None:
    """Sleep until woken (a commit made new work) or until the periodic sweep is due.

    Not `asyncio.wait_for`: on Python 3.11 it swallows a cancellation that arrives as the
    event is set, and a worker being stopped would go on looping.
    """
    waiter = asyncio.ensure_future(wake.wait())
    try:
        await asyncio.wait({waiter}, timeout=seconds)
    finally:
        waiter.cancel()
