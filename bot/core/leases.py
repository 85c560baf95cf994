"""Leases: a row (or a named thing) is worked on by one replica at a time, and taken over when
its holder dies."""

from __future__ import annotations

import asyncio
import datetime as dt
import os
import random
import socket
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from sqlalchemy import String, delete, or_, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession
from sqlalchemy.orm import Mapped, mapped_column

from bot.core.db import Base, UTCDateTime, affected, utcnow


class NamedLease(Base):
    """A lease on something that is not a row of ours (a workspace's token refresh)."""

    __tablename__ = "named_leases"

    name: Mapped[str] = mapped_column(String(160), primary_key=True)
    lease_owner: Mapped[str] = mapped_column(String(120))
    lease_expires: Mapped[dt.datetime] = mapped_column(UTCDateTime)


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


async def _take_named(engine: AsyncEngine, name: str, owner: str, seconds: float) -> bool:
    """Insert the lease, or take it over when its holder let it lapse; one statement."""
    now = utcnow()
    expires = now + dt.timedelta(seconds=seconds)
    async with engine.begin() as connection:
        insert = pg_insert if connection.dialect.name == "postgresql" else sqlite_insert
        statement = (
            insert(NamedLease)
            .values(name=name, lease_owner=owner, lease_expires=expires)
            .on_conflict_do_update(
                index_elements=["name"],
                set_={"lease_owner": owner, "lease_expires": expires},
                where=NamedLease.lease_expires < now,
            )
        )
        return affected(await connection.execute(statement)) == 1


@asynccontextmanager
async def named_lease(
    engine: AsyncEngine, name: str, owner: str, *, seconds: float = 30.0, poll: float = 0.05
) -> AsyncIterator[None]:
    """Hold `name` across replicas for the block, waiting while another replica holds it.

    The lease lapses after `seconds`, so a replica that died holding it delays the others by
    that much and no more; the block is expected to take far less."""
    while not await _take_named(engine, name, owner, seconds):
        await asyncio.sleep(poll)
        poll = min(poll * 2, 0.5)
    try:
        yield
    finally:
        async with engine.begin() as connection:
            await connection.execute(
                delete(NamedLease).where(NamedLease.name == name, NamedLease.lease_owner == owner)
            )
