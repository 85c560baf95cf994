"""Slack's rate budget: one per workspace, however many replicas spend it.

On PostgreSQL three pacers on three engines (three replicas, as far as the database can tell)
take from the same rows; SQLite keeps the pacer in the process.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from typing import Any

import pytest
from sqlalchemy import event, select
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.core.db import make_engine
from bot.core.ratebudget import RateBudget, SharedPacer, make_pacer
from bot.core.ratelimits import Pacer, rules_for

SPEEDUP = 20.0  # chat.update (Tier 3, 50 a minute): a burst of 5, then 15 a second
UPDATE = rules_for("chat.update", "C1", SPEEDUP)[0]
JITTER = 0.05  # seconds


@pytest.fixture
async def engines(postgres_db_url: str) -> AsyncIterator[list[AsyncEngine]]:
    """Three replicas' connection pools on one PostgreSQL database."""
    made = [make_engine(postgres_db_url) for _ in range(3)]
    yield made
    for engine in made:
        await engine.dispose()


async def _hammer(pacers: list[Pacer], seconds: float, callers: int = 4) -> list[float]:
    """Every pacer's `callers` call chat.update as fast as they are let, for `seconds`."""
    started = time.monotonic()
    calls: list[float] = []

    async def caller(pacer: Pacer) -> None:
        while time.monotonic() - started < seconds:
            await pacer.acquire("chat.update", "C1")
            calls.append(time.monotonic())

    await asyncio.gather(*(caller(p) for p in pacers for _ in range(callers)))
    return sorted(t for t in calls if t - started < seconds)


def _worst_excess(calls: list[float], rate: float, burst: float) -> float:
    """How far the busiest stretch of calls went over a bucket's `burst + rate * length`."""
    return max(
        (j - i + 1) - (burst + rate * (calls[j] - calls[i]))
        for i in range(len(calls))
        for j in range(i, len(calls))
    )


async def test_three_replicas_together_stay_within_the_rate(engines: list[AsyncEngine]) -> None:
    seconds = 1.0
    pacers = [SharedPacer(engine, SPEEDUP) for engine in engines]
    # Running replicas have their connections open: open four each, on another budget.
    await asyncio.gather(*(p.acquire("views.publish", "U1") for p in pacers for _ in range(4)))
    calls = await _hammer(pacers, seconds)
    allowed = UPDATE.burst + UPDATE.rate * seconds
    # The times are read when each acquire returns, not when its slot was due, on one loop that
    # runs all twelve callers: allow a call and 50 ms of that lateness. Per-process pacers go
    # dozens of calls over (the test below).
    assert _worst_excess(calls, UPDATE.rate, UPDATE.burst) <= 1 + UPDATE.rate * JITTER
    assert len(calls) <= allowed + 1
    assert len(calls) >= 0.8 * allowed  # the budget is spent, not wasted on waiting


async def test_three_pacers_of_their_own_would_spend_three_budgets() -> None:
    """Why the budget is shared: the same load on per-process pacers breaks the rate."""
    seconds = 1.0
    calls = await _hammer([Pacer(SPEEDUP) for _ in range(3)], seconds)
    assert len(calls) > 2.5 * (UPDATE.burst + UPDATE.rate * seconds)
    assert _worst_excess(calls, UPDATE.rate, UPDATE.burst) > 10


async def test_a_429_heard_by_one_replica_pauses_the_others(engines: list[AsyncEngine]) -> None:
    first, second, _ = (SharedPacer(engine, SPEEDUP) for engine in engines)
    await first.acquire("chat.update", "C1")
    first.pause("chat.update", "C1", retry_after=0.5)
    await first.flush()
    started = time.monotonic()
    await asyncio.gather(
        second.acquire("chat.update", "C1"),
        second.acquire("pins.add", "C1"),  # another method's budget: not paused
    )
    waited = time.monotonic() - started
    # Retry-After, then one refill: the bucket is empty when the pause ends.
    assert 0.5 <= waited < 0.5 + 1 / UPDATE.rate + 0.3
    started = time.monotonic()
    await second.acquire("pins.add", "C1")
    assert time.monotonic() - started < 0.2


async def test_channels_do_not_share_a_budget(engines: list[AsyncEngine]) -> None:
    """chat.postMessage is paced per channel: a busy channel holds up no other."""
    first, second, _ = (SharedPacer(engine, 2.0) for engine in engines)
    await first.acquire("chat.postMessage", "C1")  # C1's one token
    done: dict[str, float] = {}
    started = time.monotonic()

    async def post(channel: str) -> None:
        await second.acquire("chat.postMessage", channel)
        done[channel] = time.monotonic() - started

    await asyncio.gather(post("C1"), post("C2"))
    assert done["C2"] < 0.2
    assert done["C1"] >= 1 / (0.9 * 2.0) - 0.05  # the other replica's post counted in C1
    async with engines[0].connect() as connection:
        rows = (await connection.execute(select(RateBudget.method, RateBudget.scope))).all()
    assert sorted(rows) == [("chat.postMessage", "C1"), ("chat.postMessage", "C2")]


async def test_an_acquire_is_one_statement(engines: list[AsyncEngine]) -> None:
    statements: list[str] = []

    def count(*args: Any) -> None:
        statements.append(args[2])

    pacer = SharedPacer(engines[0], SPEEDUP)
    await pacer.acquire("chat.update", "C1")  # the first connection's setup is not counted
    event.listen(engines[0].sync_engine, "before_cursor_execute", count)
    await pacer.acquire("chat.update", "C1")
    await pacer.acquire("chat.postMessage", "C1")
    event.remove(engines[0].sync_engine, "before_cursor_execute", count)
    assert len(statements) == 2
    assert all(s.startswith("INSERT INTO slack_rate_budget") for s in statements)


async def test_sqlite_keeps_the_pacer_in_the_process(tmp_path: object) -> None:
    """The bot on SQLite is one process: nothing to share, and no database round trip."""
    engine = make_engine(f"sqlite+aiosqlite:///{tmp_path}/opsbot.db")
    try:
        pacer = make_pacer(engine, SPEEDUP)
        assert type(pacer) is Pacer
        await pacer.acquire("chat.update", "C1")
    finally:
        await engine.dispose()
