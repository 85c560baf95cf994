"""Dedupe ledger: one row per delivery we have accepted, unique on (source, key).

A claim is an INSERT ... ON CONFLICT DO NOTHING made in the same transaction as the work it guards,
so a redelivered event or webhook finds the row and has no second effect, and a crash before the
commit leaves no claim behind to block the retry.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import ColumnElement, String, UniqueConstraint, delete, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlalchemy.orm import Mapped, mapped_column

from bot.core.db import Base, UTCDateTime, affected, insert_ignore, transaction, utcnow

# Rows deleted per transaction by retention sweeps: small enough that no lock is held for
# long on a big table, large enough that a day's rows go in a few round trips.
PRUNE_BATCH = 1000


class ProcessedEvent(Base):
    __tablename__ = "processed_events"
    __table_args__ = (UniqueConstraint("source", "key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    source: Mapped[str] = mapped_column(String(32))
    key: Mapped[str] = mapped_column(String(255))
    received_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)


async def claim(session: AsyncSession, source: str, key: str) -> bool:
    """True the first time (source, key) is seen; False for every redelivery."""
    statement = (
        insert_ignore(session, ProcessedEvent)
        .values(source=source, key=key[:255], received_at=utcnow())
        .on_conflict_do_nothing(index_elements=["source", "key"])
    )
    result = await session.execute(statement)
    return affected(result) == 1


async def claim_many(session: AsyncSession, source: str, keys: list[str]) -> set[str]:
    """The keys seen for the first time, claimed in one statement; the others are redeliveries."""
    if not keys:
        return set()
    now = utcnow()
    statement = (
        insert_ignore(session, ProcessedEvent)
        .values([{"source": source, "key": key[:255], "received_at": now} for key in keys])
        .on_conflict_do_nothing(index_elements=["source", "key"])
        .returning(ProcessedEvent.key)
    )
    return set((await session.scalars(statement)).all())


async def forget_before(session: AsyncSession, cutoff: dt.datetime) -> int:
    """Drop ledger rows older than any redelivery window we need to cover."""
    result = await session.execute(
        delete(ProcessedEvent).where(ProcessedEvent.received_at < cutoff)
    )
    return affected(result)


async def prune_in_batches(
    sessions: async_sessionmaker[AsyncSession],
    model: Any,
    condition: ColumnElement[bool],
    batch: int = PRUNE_BATCH,
) -> int:
    """Delete the rows of ``model`` matching ``condition``, ``batch`` rows per transaction.

    Shared by every retention sweep. Selecting ids first keeps each DELETE small on both
    SQLite and PostgreSQL (neither has a portable DELETE ... LIMIT).
    """
    total = 0
    while True:
        async with transaction(sessions) as session:
            ids = (
                await session.scalars(
                    select(model.id).where(condition).order_by(model.id).limit(batch)
                )
            ).all()
            if ids:
                await session.execute(delete(model).where(model.id.in_(ids)))
        total += len(ids)
        if len(ids) < batch:
            return total


async def prune(
    sessions: async_sessionmaker[AsyncSession], cutoff: dt.datetime, batch: int = PRUNE_BATCH
) -> int:
    """Forget deliveries received before ``cutoff``, in batches."""
    return await prune_in_batches(
        sessions, ProcessedEvent, ProcessedEvent.received_at < cutoff, batch
    )
