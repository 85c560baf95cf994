"""Dedupe ledger: one row per delivery we have accepted, unique on (source, key).

A claim is an INSERT ... ON CONFLICT DO NOTHING made in the same transaction as the work it guards,
so a redelivered event or webhook finds the row and has no second effect, and a crash before the
commit leaves no claim behind to block the retry.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import String, UniqueConstraint, delete
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlalchemy.orm import Mapped, mapped_column

from bot.core.db import (
    PRUNE_BATCH,
    Base,
    UTCDateTime,
    insert_ignore,
    prune_in_batches,
    table_of,
    utcnow,
)

# The longest key the ledger keeps; longer keys are cut to it (as the column is).
MAX_KEY = 255


class ProcessedEvent(Base):
    __tablename__ = "processed_events"
    __table_args__ = (UniqueConstraint("source", "key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    source: Mapped[str] = mapped_column(String(32))
    key: Mapped[str] = mapped_column(String(MAX_KEY))
    received_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)


async def claim(session: AsyncSession, source: str, key: str) -> bool:
    """True the first time (source, key) is seen; False for every redelivery."""
    return bool(await claim_many(session, source, [key]))


async def claim_many(session: AsyncSession, source: str, keys: list[str]) -> set[str]:
    """The keys seen for the first time, claimed in one statement; the others are redeliveries.

    Keys are cut to `MAX_KEY` characters, and the set returned holds them so cut.
    """
    unique = list(dict.fromkeys(key[:MAX_KEY] for key in keys))
    if not unique:
        return set()
    now = utcnow()
    # One statement text for every batch size (executemany, which SQLAlchemy sends as one
    # multi-row INSERT ... RETURNING): compiled once and cached, not once per batch size.
    statement = (
        insert_ignore(session, table_of(ProcessedEvent))
        .on_conflict_do_nothing(index_elements=["source", "key"])
        .returning(ProcessedEvent.key)
    )
    rows = [{"source": source, "key": key, "received_at": now} for key in unique]
    return set((await session.scalars(statement, rows)).all())


async def release(session: AsyncSession, source: str, key: str) -> None:
    """Forget a claim whose work failed while the transaction that made it goes on, so the
    sender's retry is not taken for a redelivery of work that was done."""
    await session.execute(
        delete(ProcessedEvent).where(
            ProcessedEvent.source == source, ProcessedEvent.key == key[:MAX_KEY]
        )
    )


async def prune(
    sessions: async_sessionmaker[AsyncSession], cutoff: dt.datetime, batch: int = PRUNE_BATCH
) -> int:
    """Forget deliveries received before ``cutoff``, in batches."""
    return await prune_in_batches(
        sessions, ProcessedEvent, ProcessedEvent.received_at < cutoff, batch
    )
