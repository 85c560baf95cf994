"""Fixtures of the core tests."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.core.db import make_engine, make_sessionmaker


@pytest.fixture
async def sessions(db_url: str) -> AsyncIterator[async_sessionmaker[AsyncSession]]:
    """Sessions on a migrated database of its own (SQLite, then PostgreSQL)."""
    engine = make_engine(db_url)
    yield make_sessionmaker(engine)
    await engine.dispose()
