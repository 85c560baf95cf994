"""The projector's due query with many cards: `python -m bench due [--cards N] [--dirty M]`.

Fills `slack_projections` with N cards of which M are dirty, then times the query the projector
runs on every sweep and wake-up, with the partial index on dirty views and, as the baseline in
the same run on the same data, with that index dropped. PostgreSQL is the throwaway test cluster
(fsync off: the figures are for reads, which fsync does not touch).
"""

from __future__ import annotations

import asyncio
import statistics
import time
from contextlib import ExitStack

from sqlalchemy import insert, text

from bench.ack import database_url
from bot.core.db import make_engine, make_sessionmaker, utcnow
from bot.core.metrics import Metrics
from bot.core.projector import Projection
from bot.core.projector_worker import Projector
from bot.migrate import upgrade

BATCH = 5000


async def fill(url: str, cards: int, dirty: int, kind: str = "bench.card") -> None:
    """Add `cards` posted cards of `kind`, `dirty` of them changed since their last update."""
    engine = make_engine(url)
    now = utcnow()
    every = max(1, cards // max(dirty, 1))
    async with engine.begin() as connection:
        for start in range(0, cards, BATCH):
            rows = [
                {
                    "kind": kind,
                    "record_id": str(i),
                    "channel": "C0BENCH",
                    "ts": f"{i}.000100",
                    "version": 2 if i % every == 0 and i // every < dirty else 1,
                    "synced_version": 1,
                    "status": "active",
                    "attempts": 0,
                    "updated_at": now,
                    "pinned": False,
                }
                for i in range(start, min(start + BATCH, cards))
            ]
            await connection.execute(insert(Projection), rows)
        await connection.execute(text("ANALYZE"))
    await engine.dispose()


async def _time(url: str, calls: int) -> tuple[float, int]:
    engine = make_engine(url)
    projector = Projector(make_sessionmaker(engine), None, "bench", Metrics())  # type: ignore[arg-type]
    due = projector.worker.due_select
    async with projector.sessions() as session:  # warms the connection and the plan
        found = list(await session.scalars(due(utcnow(), 64)))
    samples = []
    for _ in range(calls):
        started = time.perf_counter()
        async with projector.sessions() as session:
            await session.scalars(due(utcnow(), 64))
        samples.append(time.perf_counter() - started)
    await engine.dispose()
    return statistics.median(samples) * 1000, len(found)


async def _drop_index(url: str) -> None:
    engine = make_engine(url)
    async with engine.begin() as connection:
        await connection.execute(text("DROP INDEX ix_projections_dirty"))
    await engine.dispose()


def run(cards: int, dirty: int, databases: list[str], calls: int = 50) -> list[str]:
    lines = [f"due query, {cards:,} cards of which {dirty:,} dirty, median of {calls} calls"]
    with ExitStack() as stack:
        for kind in databases:
            url = database_url(kind, stack)
            upgrade(url)
            asyncio.run(fill(url, cards, dirty))
            indexed, found = asyncio.run(_time(url, calls))
            asyncio.run(_drop_index(url))
            scanned, _ = asyncio.run(_time(url, calls))
            lines.append(
                f"  {kind:<10} partial index {indexed:6.2f} ms   without it {scanned:6.2f} ms"
                f"   ratio {scanned / indexed:5.1f}x   ({found} due rows returned)"
            )
    return lines
