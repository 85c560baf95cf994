"""Dedupe ledger: one row per delivery we have accepted, unique on (source, key).

A claim is an INSERT ... ON CONFLICT DO NOTHING made in the same transaction as the work it guards,
so a redelivered event or webhook finds the row and has no second effect, and a crash before the
commit leaves no claim behind to block the retry.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import String, UniqueConstraint, delete
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Mapped, mapped_column

from bot.core.db import Base, UTCDateTime, insert_ignore, utcnow


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
    return result.rowcount == 1


async def forget_before(session: AsyncSession, cutoff: dt.datetime) -> int:
    """Drop ledger rows older than any redelivery window we need to cover."""
    result = await session.execute(
        delete(ProcessedEvent).where(ProcessedEvent.received_at < cutoff)
    )
    return result.rowcount or 0
