"""The projector against Slack's published limits.

    python -m bench projector [--tasks 100] [--rate 5] [--seconds 60] [--channels 10]
        [--existing 100000] [--replicas 3 [--unshared-too]]

Each of N task cards changes `rate` times a second for `seconds` (as agent progress would); the
sandbox enforces Slack's limits and answers 429 when they are broken. Reported: Web API calls,
429s, the lag from the last change to the last update, and whether every card shows its final
state.

Without `--replicas` the bot runs in this process on SQLite; `--existing N` first adds N cards
posted earlier and up to date (a long-lived install's table), which the due query must skip.
With `--replicas N`, one and then N `opsbot serve` processes (each a fresh PostgreSQL database,
migrated once, then `serve --no-migrate`) project the same cards against one sandbox enforcing
the limits, in real time; `--unshared-too` adds N processes that pace themselves only, as before
the shared budget. The cards live in a table of the bench's own; each process registers their
view (`python -m bench.projector shared serve ...` is `opsbot serve` with that one view added).
"""

from __future__ import annotations

import asyncio
import statistics
import sys
import tempfile
import time
import uuid
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import asyncpg
from slack_sdk.models.blocks import SectionBlock
from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncSession

from bench.due_query import fill
from bench.processes import bot_env, free_port, process
from bot.app import Runtime, Tuning
from bot.core.db import make_engine, make_sessionmaker, transaction
from bot.core.projector import WAKE_FLAG, Rendered, mark_dirty
from bot.core.ratebudget import SharedPacer
from bot.core.wakeups import CHANNEL
from bot.migrate import upgrade
from bot.sandbox.harness import create_tables, running_bot
from bot.sandbox.server import Sandbox

KIND = "bench.task"


async def run(
    tasks: int, rate: float, seconds: float, channels: int, existing: int = 0
) -> list[str]:
    directory = Path(tempfile.mkdtemp(prefix="opsbot-bench-"))
    url = f"sqlite+aiosqlite:///{directory}/bench.db"
    await create_tables(url)
    if existing:
        await fill(url, existing, 0, kind="bench.old")
    tuning = Tuning(lease_seconds=30, task_sweep_seconds=0.2, projector_sweep_seconds=0.5)
    state: dict[str, str] = {}
    async with running_bot(url, tuning=tuning) as bot:
        bot.state.rate_limits.enabled = True
        targets = [bot.state.add_channel(f"agents-{n}", [bot.state.bot_user_id])
                   for n in range(channels)]  # fmt: skip

        async def load(_session: Any, record_id: str) -> tuple[str, str]:
            return record_id, state[record_id]

        def view(card: tuple[str, str]) -> Rendered:
            record_id, text = card
            channel = targets[int(record_id) % channels]
            return Rendered(channel=channel, text=text, blocks=[SectionBlock(text=text)])

        bot.rt.projector.register(KIND, load, view)
        started = time.monotonic()
        step = 0
        while time.monotonic() - started < seconds:
            async with transaction(bot.rt.sessions) as session:
                for task in range(tasks):
                    state[str(task)] = f"task {task}: step {step}"
                    await mark_dirty(session, KIND, str(task))
            step += 1
            await asyncio.sleep(max(0.0, started + step / rate - time.monotonic()))
        last_change = time.monotonic()
        await bot.settle(timeout=900)
        last_update = max((c.at for c in bot.state.calls), default=0)
        lag = time.monotonic() - last_change - (time.time() - last_update)
        calls = bot.state.calls
        limited = sum(1 for c in calls if c.status == 429)
        final = {m.text for ch in targets for m in bot.state.messages(ch)}
        delivered = sum(1 for task in range(tasks) if state[str(task)] in final)
    return [
        f"{tasks} cards x {rate:g} changes/s for {seconds:g}s in {channels} channels "
        f"({tasks * step} changes), {existing:,} older cards up to date",
        f"  Web API calls: {len(calls)} (chat.postMessage "
        f"{sum(c.method == 'chat.postMessage' for c in calls)}, chat.update "
        f"{sum(c.method == 'chat.update' for c in calls)}), 429s: {limited}",
        f"  lag from the last change to the last update: {lag:.1f}s",
        f"  final state delivered: {delivered}/{tasks}",
    ]


# --- several `opsbot serve` processes on one PostgreSQL ---------------------------------------

CARDS = "CREATE TABLE bench_cards (id text PRIMARY KEY, channel text NOT NULL, text text NOT NULL)"


def register_cards(rt: Runtime) -> None:
    """The bench's cards, read from its own table, as a feature would register its views."""

    async def load(session: AsyncSession, record_id: str) -> tuple[str, str] | None:
        row = (
            await session.execute(
                text("SELECT channel, text FROM bench_cards WHERE id = :id"), {"id": record_id}
            )
        ).one_or_none()
        return None if row is None else (row.channel, row.text)

    def view(card: tuple[str, str]) -> Rendered:
        channel, card_text = card
        return Rendered(channel=channel, text=card_text, blocks=[SectionBlock(text=card_text)])

    rt.projector.register(KIND, load, view)


def serve_with_cards(argv: list[str], unshared: bool) -> int:
    """`opsbot serve`, with the bench's view registered in the runtime it builds."""
    import bot.app
    import bot.cli
    from bot.core.ratelimits import Pacer

    build = bot.app.build_runtime

    def build_with_cards(settings: Any, tuning: Tuning | None = None) -> Runtime:
        rt = build(settings, tuning)
        register_cards(rt)
        if unshared:  # as before the shared budget: this process's calls only
            rt.projector.pacer = Pacer(rt.projector.pacer.speedup)
        return rt

    bot.app.build_runtime = build_with_cards
    return bot.cli.main(argv)


async def _new_database(admin_url: str) -> str:
    name = f"bench_{uuid.uuid4().hex[:8]}"
    dsn = make_url(admin_url).set(drivername="postgresql").render_as_string(hide_password=False)
    connection = await asyncpg.connect(dsn)
    try:
        await connection.execute(f'CREATE DATABASE "{name}"')
    finally:
        await connection.close()
    return make_url(admin_url).set(database=name).render_as_string(hide_password=False)


def _replica(stack: ExitStack, database_url: str, api_url: str, unshared: bool) -> None:
    port = free_port()
    env = bot_env(
        database_url,
        api_url,
        TUNING__PROJECTOR_SWEEP_SECONDS="0.5",
        TUNING__TASK_SWEEP_SECONDS="0.2",
    )
    args = [sys.executable, "-m", "bench.projector", "unshared" if unshared else "shared",
            "serve", "--host", "127.0.0.1", "--port", str(port), "--no-migrate"]  # fmt: skip
    # Three processes starting at once on a loaded 2-core machine take more than 30 s.
    stack.enter_context(process(args, env, f"http://127.0.0.1:{port}/livez", startup_timeout=180))


async def run_replicas(
    admin_url: str,
    sandbox: Sandbox,
    replicas: int,
    unshared: bool,
    tasks: int,
    rate: float,
    seconds: float,
    channels: int,
) -> list[str]:
    database_url = await _new_database(admin_url)
    await asyncio.to_thread(upgrade, database_url)
    state = sandbox.reset()
    state.rate_limits.enabled = True  # Slack's published limits, in real time
    targets = [state.add_channel(f"agents-{n}", [state.bot_user_id]) for n in range(channels)]
    engine = make_engine(database_url)
    sessions = make_sessionmaker(engine)
    async with transaction(sessions) as session:
        await session.execute(text(CARDS))
    label = f"{replicas} replica(s), {'per-process pacing' if unshared else 'shared budget'}"
    stack = ExitStack()
    try:
        await asyncio.gather(
            *(
                asyncio.to_thread(_replica, stack, database_url, sandbox.url, unshared)
                for _ in range(replicas)
            )
        )
        print(f"  {label}: running", flush=True)
        started = time.monotonic()
        step = 0
        while time.monotonic() - started < seconds:
            async with transaction(sessions) as session:
                cards = [{"id": str(n), "channel": targets[n % channels],
                          "text": f"task {n}: step {step}"} for n in range(tasks)]  # fmt: skip
                await session.execute(
                    text(
                        "INSERT INTO bench_cards (id, channel, text) VALUES (:id, :channel, :text)"
                        " ON CONFLICT (id) DO UPDATE SET text = excluded.text"
                    ),
                    cards,
                )
                for n in range(tasks):
                    await mark_dirty(session, KIND, str(n))
                wake = {"channel": CHANNEL, "flag": WAKE_FLAG}  # every replica's projector
                await session.execute(text("SELECT pg_notify(:channel, :flag)"), wake)
            step += 1
            await asyncio.sleep(max(0.0, started + step / rate - time.monotonic()))
        last_change = time.time()
        final = {f"task {n}: step {step - 1}" for n in range(tasks)}
        deadline = time.monotonic() + 900
        while time.monotonic() < deadline:
            shown = {m.text for channel in targets for m in state.messages(channel)}
            if final <= shown:
                break
            await asyncio.sleep(0.1)
        calls = list(state.calls)
    finally:
        # Stopped from a thread: the sandbox runs on this loop, and stopping replicas call it.
        await asyncio.to_thread(stack.close)
    await engine.dispose()
    shown = {m.text for channel in targets for m in state.messages(channel)}
    lag = max((c.at for c in calls if c.ok), default=last_change) - last_change
    posts = sum(c.method == "chat.postMessage" for c in calls)
    updates = sum(c.method == "chat.update" for c in calls)
    return [
        f"  {label}: Web API calls {len(calls)} (chat.postMessage {posts}, chat.update "
        f"{updates}), 429s: {sum(c.status == 429 for c in calls)}, final state delivered "
        f"{len(final & shown)}/{tasks}, last change to last update {lag:.1f}s"
    ]


async def acquire_cost(admin_url: str, calls: int = 1000) -> str:
    """One replica's acquire on an uncontended budget, one after the other."""
    database_url = await _new_database(admin_url)
    await asyncio.to_thread(upgrade, database_url)
    engine = make_engine(database_url)
    pacer = SharedPacer(engine, speedup=1e6)  # never waits: only the statement is timed
    for _ in range(20):
        await pacer.acquire("chat.update", "C1")
    times = []
    cpu = time.process_time()
    for _ in range(calls):
        begun = time.perf_counter()
        await pacer.acquire("chat.update", "C1")
        times.append(time.perf_counter() - begun)
    cpu = time.process_time() - cpu
    await engine.dispose()
    times.sort()
    return (
        f"  shared acquire: p50 {statistics.median(times) * 1e3:.2f} ms, "
        f"p99 {times[int(calls * 0.99)] * 1e3:.2f} ms, CPU {cpu / calls * 1e3:.2f} ms a call"
    )


async def run_processes(
    replicas: int, unshared: bool, tasks: int, rate: float, seconds: float, channels: int
) -> list[str]:
    from tests.pg import ThrowawayPostgres

    server = ThrowawayPostgres()
    admin_url = server.start()
    sandbox = Sandbox()
    await sandbox.start()
    lines = [
        f"{tasks} cards x {rate:g} changes/s for {seconds:g}s in {channels} channels, "
        "opsbot serve processes on one PostgreSQL (fsync off), Slack's limits in real time"
    ]
    try:
        lines.append(await acquire_cost(admin_url))
        print(lines[-1], flush=True)
        runs = list(dict.fromkeys([(1, False), (replicas, False)]))
        runs += [(replicas, True)] if unshared else []
        for count, per_process in runs:
            lines += await run_replicas(
                admin_url, sandbox, count, per_process, tasks, rate, seconds, channels
            )
            print(lines[-1], flush=True)
    finally:
        await sandbox.stop()
        server.stop()
    return lines


if __name__ == "__main__":
    # python -m bench.projector shared|unshared serve ...: a replica for run_replicas
    sys.exit(serve_with_cards(sys.argv[2:], unshared=sys.argv[1] == "unshared"))
