"""Replicas wake each other at commit through PostgreSQL LISTEN/NOTIFY, not at their sweep."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.core import tasks
from bot.core.db import make_engine, make_sessionmaker, transaction
from bot.core.metrics import Metrics
from bot.core.projector import mark_dirty
from bot.core.tasks import TaskRunner
from bot.core.wakeups import WakeListener


@pytest.fixture
async def pg_engine(postgres_db_url: str) -> AsyncIterator[AsyncEngine]:
    """SQLite is one process's store: there is no other replica to wake."""
    engine = make_engine(postgres_db_url)
    yield engine
    await engine.dispose()


async def test_a_commit_that_makes_work_wakes_the_other_replica(pg_engine: AsyncEngine) -> None:
    """Replica B sweeps every 30 s; a task committed by replica A (its own engine, as another
    process would have) starts on B well within 200 ms."""
    url = pg_engine.url.render_as_string(hide_password=False)
    other = make_engine(url)  # replica A's connections
    started: list[float] = []

    async def handler(_payload: dict[str, object]) -> None:
        started.append(time.monotonic())

    sessions_b = make_sessionmaker(pg_engine)
    runner = TaskRunner(sessions_b, "replica-b", Metrics(), sweep_seconds=30)
    runner.register("t", handler)
    woken: list[str] = []

    def wake_tasks() -> None:
        woken.append("tasks")
        runner.wake()

    listener = WakeListener(pg_engine, {"wake_tasks": wake_tasks, "wake_projector": lambda: None})
    runner.start()
    listener.start()
    try:
        await asyncio.wait_for(listener.listening.wait(), 10)
        await asyncio.sleep(0.2)  # the first sweep and the wake at connect are over
        woken.clear()
        # The in-process wake is this process's; replica B must hear it from PostgreSQL.
        runner.worker._unhook()
        committed = time.monotonic()
        async with transaction(make_sessionmaker(other)) as session:
            await tasks.enqueue(session, "t", {})
        for _ in range(100):
            if started:
                break
            await asyncio.sleep(0.01)
    finally:
        await listener.stop()
        await runner.stop()
        await other.dispose()
    assert woken == ["tasks"]
    assert started and started[0] - committed < 0.2


async def test_a_rolled_back_write_wakes_nobody(pg_engine: AsyncEngine) -> None:
    heard: list[str] = []
    listener = WakeListener(pg_engine, {"wake_projector": lambda: heard.append("projector")})
    listener.start()
    try:
        await asyncio.wait_for(listener.listening.wait(), 10)
        await asyncio.sleep(0.1)
        heard.clear()
        with pytest.raises(RuntimeError):
            async with transaction(make_sessionmaker(pg_engine)) as session:
                await mark_dirty(session, "incident.card", 1)
                raise RuntimeError("rolled back")
        await asyncio.sleep(0.3)
        assert heard == []
        async with transaction(make_sessionmaker(pg_engine)) as session:
            await mark_dirty(session, "incident.card", 1)
        for _ in range(50):
            if heard:
                break
            await asyncio.sleep(0.01)
        assert heard == ["projector"]
    finally:
        await listener.stop()
