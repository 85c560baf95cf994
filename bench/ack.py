"""Acknowledgement latency of `opsbot serve` under load, against a bare Bolt app.

python -m bench ack [--rates 50,200,500] [--seconds 30] [--db sqlite,postgresql]
"""

from __future__ import annotations

import asyncio
import tempfile
from contextlib import ExitStack
from pathlib import Path

from sqlalchemy import text

from bench.load import LoadResult, run_load
from bench.processes import PIDS, SIGNING_SECRET, bare_bolt, cpu_seconds, opsbot, sandbox
from bot.core.db import make_engine
from bot.migrate import upgrade


def database_url(kind: str, stack: ExitStack) -> str:
    if kind == "sqlite":
        directory = Path(stack.enter_context(tempfile.TemporaryDirectory()))
        return f"sqlite+aiosqlite:///{directory}/bench.db"
    from tests.pg import ThrowawayPostgres

    server = ThrowawayPostgres()
    url = server.start()
    stack.callback(server.stop)
    return url


def run(rates: list[int], seconds: float, databases: list[str], workers: int = 1) -> list[str]:
    """Both apps under the same load, one window after the other, the order alternating.

    Before each window opsbot's backlog is drained (its worker is idle), so neither app is
    measured while the other's leftovers still run; CPU is read from /proc around each window.
    """
    lines: list[str] = []
    with ExitStack() as stack:
        api_url = stack.enter_context(sandbox())
        bare = stack.enter_context(bare_bolt(api_url))
        for kind in databases:
            url = database_url(kind, stack)
            upgrade(url)
            with opsbot(url, api_url, workers=workers) as bot:
                lines.append(f"{kind} (fsync off)" if kind == "postgresql" else kind)
                for index, rate in enumerate(rates):
                    targets = [(bot, f"opsbot ({kind})"), (bare, "bare Bolt app")]
                    results: dict[str, tuple[LoadResult, float]] = {}
                    for base, name in targets if index % 2 == 0 else targets[::-1]:
                        asyncio.run(drain(url))
                        backlog = url if base == bot else None
                        results[base] = window(base, name, rate, seconds, backlog)
                    (ours, our_cpu), (bare_result, bare_cpu) = results[bot], results[bare]
                    lines += [
                        ours.row() + f"  CPU {our_cpu:5.2f} ms/req",
                        bare_result.row() + f"  CPU {bare_cpu:5.2f} ms/req",
                        ratio_line(ours, bare_result) + f"; CPU {our_cpu / bare_cpu:4.2f}x",
                        "",
                    ]
                    print("\n".join(lines[-4:]), flush=True)
                asyncio.run(drain(url))
    return lines


def window(
    base: str, name: str, rate: int, seconds: float, backlog: str | None = None
) -> tuple[LoadResult, float]:
    """One load window and the process's CPU per acknowledged request (ms).

    With `backlog` (opsbot's database), the CPU counted runs until the stored work is done:
    handling an event is part of its cost, even when it happens after the acknowledgement.
    """
    before = cpu_seconds(PIDS[base])
    result = asyncio.run(run_load(f"{base}/slack/events", SIGNING_SECRET, rate, seconds, name))
    if backlog is not None:
        asyncio.run(drain(backlog))
    spent = cpu_seconds(PIDS[base]) - before
    return result, spent * 1000 / max(1, len(result.latencies))


async def drain(url: str, timeout: float = 300) -> None:
    """Wait until opsbot has no stored work left to run."""
    engine = make_engine(url)
    deadline = asyncio.get_running_loop().time() + timeout
    try:
        while asyncio.get_running_loop().time() < deadline:
            async with engine.connect() as connection:
                left = await connection.scalar(
                    text("SELECT count(*) FROM tasks WHERE status IN ('pending', 'running')")
                )
            if not left:
                return
            await asyncio.sleep(0.2)
    finally:
        await engine.dispose()


def ratio_line(ours: LoadResult, base: LoadResult) -> str:
    return (
        f"{'':24} median overhead {ours.median_ms / base.median_ms:4.2f}x the bare app "
        f"(target <= 1.5x); p99 target < 100 ms at 200/s"
    )
