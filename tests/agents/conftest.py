"""Fixtures: a real git repository and the sandbox A2A agent serving it on loopback."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.agents.service import watching
from bot.core.db import make_engine, make_sessionmaker
from bot.core.projector import WAKE_FLAG, mark_dirty_now
from bot.core.watches import Watches
from bot.sandbox.agent_git import make_repo
from bot.sandbox.agent_server import AgentServer


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    return make_repo(tmp_path / "octo-repo")


@pytest.fixture
async def agent(repo: Path) -> AsyncIterator[AgentServer]:
    async with AgentServer(repo) as server:
        yield server


@pytest.fixture
async def sessions(db_url: str) -> AsyncIterator[async_sessionmaker[AsyncSession]]:
    """Sessions that mark the feature's views dirty as the running bot's do (its watches)."""
    engine = make_engine(db_url)
    made = make_sessionmaker(engine)
    watches = Watches(mark_dirty_now, WAKE_FLAG)
    for kind, sources in watching.VIEWS.items():
        watches.add(kind, sources)
    watches.install(made)
    try:
        yield made
    finally:
        await engine.dispose()
