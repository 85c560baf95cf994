"""Ingest throughput: events and webhooks per second, end to end into the database.

    python -m bench ingest [--count 2000] [--db sqlite,postgresql] [--workers 1,2]

Sends channel message events and GitHub workflow_run webhooks as fast as 32 connections
allow to `opsbot serve`, then waits until every one is stored by its feature (activity rows,
CI runs); the rate is items over the time from the first request to the last row. CPU is the
serve process's (and its workers') user and system time over the same span, per item.
"""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from contextlib import ExitStack

import aiohttp
from sqlalchemy import text

from bench.ack import database_url
from bench.processes import PIDS, SIGNING_SECRET, cpu_seconds, opsbot, sandbox
from bot.core.db import make_engine, utcnow
from bot.migrate import upgrade
from bot.sandbox.ci_samples import github_headers, workflow_run
from bot.sandbox.signing import signed_headers

GITHUB_SECRET = "bench-github-secret"


def message_event(n: int) -> tuple[bytes, dict[str, str]]:
    body = json.dumps({
        "type": "event_callback", "team_id": "T0SANDBOX", "api_app_id": "A0OPSBOT",
        "event_id": f"Ev{uuid.uuid4().hex[:16]}", "event_time": int(time.time()),
        "event": {"type": "message", "channel": "C0GENERAL", "channel_type": "channel",
                  "user": "U0BOB", "text": f"message {n}", "ts": f"{time.time():.6f}{n % 10}"},
    }).encode()  # fmt: skip
    headers = {"Content-Type": "application/json"}
    return body, {**headers, **signed_headers(SIGNING_SECRET, int(time.time()), body)}


def ci_webhook(n: int) -> tuple[bytes, dict[str, str]]:
    payload = workflow_run(
        repo="octo-org/octo-repo",
        run_id=10_000 + n,
        sha=f"{n:040x}",
        conclusion="success" if n % 3 else "failure",
        created=utcnow(),
    )
    body = json.dumps(payload).encode()
    return body, github_headers(GITHUB_SECRET, body)


async def send_all(url: str, items: list[tuple[bytes, dict[str, str]]]) -> int:
    queue: asyncio.Queue[tuple[bytes, dict[str, str]]] = asyncio.Queue()
    for item in items:
        queue.put_nowait(item)
    failures = 0
    async with aiohttp.ClientSession() as session:

        async def worker() -> None:
            nonlocal failures
            while not queue.empty():
                body, headers = queue.get_nowait()
                async with session.post(url, data=body, headers=headers) as response:
                    await response.read()
                    failures += response.status >= 300

        await asyncio.gather(*(worker() for _ in range(32)))
    return failures


async def wait_for_rows(db: str, query: str, expected: int, timeout: float = 600) -> None:
    engine = make_engine(db)
    deadline = time.monotonic() + timeout
    try:
        while time.monotonic() < deadline:
            async with engine.connect() as connection:
                if (await connection.scalar(text(query))) >= expected:
                    return
            await asyncio.sleep(0.1)
        raise TimeoutError(query)
    finally:
        await engine.dispose()


async def measure(base: str, db: str, count: int) -> list[str]:
    lines = []
    cases = (
        ("message events", f"{base}/slack/events", message_event,
         "SELECT count(*) FROM activity_messages"),
        ("CI webhooks", f"{base}/webhooks/github", ci_webhook, "SELECT count(*) FROM ci_runs"),
    )  # fmt: skip
    for name, url, make, query in cases:
        items = [make(n) for n in range(count)]
        cpu_before = cpu_seconds(PIDS[base])
        started = time.monotonic()
        failures = await send_all(url, items)
        acked = time.monotonic() - started
        await wait_for_rows(db, query, count - failures)
        stored = time.monotonic() - started
        cpu = (cpu_seconds(PIDS[base]) - cpu_before) / count * 1000
        lines.append(
            f"  {name:15} {count} sent, {failures} refused: acknowledged {count / acked:7.1f}/s,"
            f" stored end to end {count / stored:7.1f}/s, serve CPU {cpu:5.2f} ms each"
        )
    return lines


def run(count: int, databases: list[str], workers: list[int]) -> list[str]:
    lines: list[str] = []
    config = (
        "ci:\n  routes:\n    - {repo: octo-org/octo-repo, branches: [main], channel: C0CIALERTS}\n"
    )
    with ExitStack() as stack:
        api_url = stack.enter_context(sandbox())
        for kind in databases:
            for processes in workers:
                db = database_url(kind, stack)  # a fresh database for each run
                upgrade(db)
                extra = {"GITHUB_WEBHOOK_SECRET": GITHUB_SECRET, "OPSBOT_CONFIG": _write(config)}
                with opsbot(db, api_url, extra, workers=processes) as bot:
                    lines.append(f"ingest on {kind}, {processes} worker process(es):")
                    lines += asyncio.run(measure(bot, db, count))
                    print("\n".join(lines[-3:]), flush=True)
    return lines


def _write(content: str) -> str:
    import tempfile

    handle = tempfile.NamedTemporaryFile("w", suffix=".yml", delete=False)  # noqa: SIM115
    handle.write(content)
    handle.close()
    return handle.name
