"""The cost of the workspace filter: one ORM SELECT within a workspace against the same SELECT
outside any, alternating, on one SQLite session.

    python -m bench filter [--statements 2000] [--rounds 5]

Every statement run within a workspace carries `team_id IN (...)` (`bot.core.workspaces`); the
ratio is what a request pays for it, per statement.
"""

from __future__ import annotations

import asyncio
import statistics
import tempfile
import time
from pathlib import Path

from sqlalchemy import select

import bot.models  # noqa: F401  (every table)
from bot.core.db import Base, make_engine, make_sessionmaker
from bot.core.workspaces import Workspace, within
from bot.incidents.models import Incident


async def _measure(statements: int, rounds: int) -> list[str]:
    directory = tempfile.mkdtemp(prefix="opsbot-bench-")
    engine = make_engine(f"sqlite+aiosqlite:///{Path(directory) / 'filter.db'}")
    async with engine.begin() as connection:
        await connection.run_sync(Base.metadata.create_all)
    sessions = make_sessionmaker(engine)

    async def per_statement() -> float:
        async with sessions() as session:
            started = time.perf_counter()
            for number in range(statements):
                await session.execute(select(Incident).where(Incident.id == number))
            return (time.perf_counter() - started) / statements * 1e6

    outside, inside = [], []
    for _ in range(rounds):
        outside.append(await per_statement())
        with within(Workspace("T0BENCH")):
            inside.append(await per_statement())
    await engine.dispose()
    out, within_ = statistics.median(outside), statistics.median(inside)
    return [
        f"workspace filter, {statements} SELECTs x {rounds} rounds, medians:",
        f"  outside any workspace {out:.0f} us, within one {within_:.0f} us "
        f"(ratio {within_ / out:.2f})",
    ]


def run(statements: int, rounds: int) -> list[str]:
    return asyncio.run(_measure(statements, rounds))
