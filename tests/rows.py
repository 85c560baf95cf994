"""Counting what a request left behind, for tests that prove it left nothing."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.models import metadata

# Written by the scheduler when a minute turns, whatever any request does: a test that compares
# counts before and after a request would otherwise fail when its minute ends mid-test.
CLOCK_TABLES = frozenset({"job_firings"})


async def row_counts(sessions: async_sessionmaker[AsyncSession]) -> dict[str, int]:
    """Rows in every table the bot has, except those the clock fills on its own."""
    async with sessions() as session:
        return {
            table.name: int(await session.scalar(select(func.count()).select_from(table)) or 0)
            for table in metadata.sorted_tables
            if table.name not in CLOCK_TABLES
        }
