"""Fixtures for the incidents tests."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.core.db import make_engine, make_sessionmaker
from bot.core.projector import WAKE_FLAG, mark_dirty_now
from bot.core.watches import Watches
from bot.incidents.service.watching import WATCHES


@pytest.fixture
async def sessions(db_url: str) -> AsyncIterator[async_sessionmaker[AsyncSession]]:
    """Sessions that mark the incident views dirty, as the running bot's projector has them."""
    engine = make_engine(db_url)
    watches = Watches(mark_dirty_now, WAKE_FLAG)
    for kind, watched in WATCHES.items():
        watches.add(kind, watched)
    sessions = make_sessionmaker(engine)
    watches.install(sessions)
    try:
        yield sessions
    finally:
        await engine.dispose()
