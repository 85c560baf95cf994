"""Group commit at the acknowledgement: one transaction for events that arrive together."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.core.db import make_engine, make_sessionmaker
from bot.core.inbox import GroupCommit
from bot.core.ledger import ProcessedEvent
from bot.core.tasks import Task


@pytest.fixture
async def sessions(db_url: str) -> AsyncIterator[async_sessionmaker[AsyncSession]]:
    engine = make_engine(db_url)
    yield make_sessionmaker(engine)
    await engine.dispose()


async def _count(sessions: async_sessionmaker[AsyncSession], model: type) -> int:
    async with sessions() as session:
        return int(await session.scalar(select(func.count()).select_from(model)) or 0)


async def test_events_arriving_together_share_one_commit(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    inbox = GroupCommit(sessions, "slack", "slack.event", window=0.05)
    stored = await asyncio.gather(*(inbox.store(f"Ev{n}", {"n": n}) for n in range(40)))
    assert stored == [True] * 40
    assert inbox.commits == 1
    assert await _count(sessions, Task) == 40 and await _count(sessions, ProcessedEvent) == 40
    async with sessions() as session:
        payloads = sorted(t.payload["n"] for t in await session.scalars(select(Task)))
    assert payloads == list(range(40))


async def test_a_redelivery_is_stored_once_in_the_same_batch_or_later(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    inbox = GroupCommit(sessions, "slack", "slack.event", window=0.05)
    first, again = await asyncio.gather(inbox.store("Ev1", {"a": 1}), inbox.store("Ev1", {"a": 1}))
    assert (first, again) == (True, False)
    assert await inbox.store("Ev1", {"a": 1}) is False
    assert await _count(sessions, Task) == 1


async def test_a_full_batch_commits_without_waiting(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    inbox = GroupCommit(sessions, "slack", "slack.event", window=30.0, max_batch=8)
    stored = await asyncio.wait_for(
        asyncio.gather(*(inbox.store(f"Ev{n}", {}) for n in range(8))), timeout=10
    )
    assert all(stored) and inbox.commits == 1


async def test_a_failed_commit_fails_every_waiting_request_and_keeps_nothing(
    db_url: str,
) -> None:
    engine = make_engine(db_url)
    sessions = make_sessionmaker(engine)
    inbox = GroupCommit(sessions, "slack", "slack.event", window=0.05)
    async with engine.begin() as connection:  # the table the batch writes to is gone
        await connection.run_sync(lambda sync: Task.__table__.drop(sync))
    results = await asyncio.gather(
        *(inbox.store(f"Ev{n}", {}) for n in range(5)), return_exceptions=True
    )
    assert all(isinstance(result, Exception) for result in results)
    assert await _count(sessions, ProcessedEvent) == 0  # the claims rolled back with it
    await engine.dispose()
