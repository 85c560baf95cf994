"""Acknowledgement latency of `opsbot serve` under load, against a bare Bolt app.

python -m bench ack [--rates 50,200,500] [--seconds 30] [--db sqlite,postgresql]
"""

from __future__ import annotations

import asyncio
import tempfile
from contextlib import ExitStack
from pathlib import Path

from bench.load import LoadResult, run_load
from bench.processes import SIGNING_SECRET, bare_bolt, opsbot, sandbox
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
    lines: list[str] = []
    with ExitStack() as stack:
        api_url = stack.enter_context(sandbox())
        bare = stack.enter_context(bare_bolt(api_url))
        for kind in databases:
            url = database_url(kind, stack)
            upgrade(url)
            with opsbot(url, api_url, workers=workers) as bot:
                for rate in rates:
                    ours = asyncio.run(
                        run_load(
                            f"{bot}/slack/events", SIGNING_SECRET, rate, seconds, f"opsbot ({kind})"
                        )
                    )
                    base = asyncio.run(
                        run_load(
                            f"{bare}/slack/events", SIGNING_SECRET, rate, seconds, "bare Bolt app"
                        )
                    )
                    lines += [ours.row(), base.row(), ratio_line(ours, base), ""]
                    print("\n".join(lines[-4:]), flush=True)
    return lines


def ratio_line(ours: LoadResult, base: LoadResult) -> str:
    return (
        f"{'':24} median overhead {ours.median_ms / base.median_ms:4.2f}x the bare app "
        f"(target <= 1.5x); p99 target < 100 ms at 200/s"
    )
