"""An open-loop load generator: signed Slack requests at a fixed rate, latency per request.

Open loop means requests are sent on schedule whether or not earlier ones have been answered,
so a slow server shows up as latency instead of silently lowering the rate.
"""

from __future__ import annotations

import asyncio
import json
import statistics
import time
import uuid
from dataclasses import dataclass, field
from urllib.parse import urlencode

import aiohttp

from bot.sandbox.signing import signed_headers


@dataclass
class LoadResult:
    target: str
    rate: int
    seconds: float
    latencies: list[float] = field(default_factory=list)
    errors: dict[str, int] = field(default_factory=dict)

    def percentile(self, p: float) -> float:
        if not self.latencies:
            return float("nan")
        ordered = sorted(self.latencies)
        return ordered[min(len(ordered) - 1, int(p / 100 * len(ordered)))] * 1000

    @property
    def median_ms(self) -> float:
        return statistics.median(self.latencies) * 1000 if self.latencies else float("nan")

    def row(self) -> str:
        errors = sum(self.errors.values())
        achieved = len(self.latencies) / self.seconds
        return (
            f"{self.target:24} {self.rate:5d}/s  sent {len(self.latencies) + errors:6d} "
            f"({achieved:6.1f}/s ok)  p50 {self.median_ms:7.2f} ms  p95 {self.percentile(95):7.2f}"
            f" ms  p99 {self.percentile(99):7.2f} ms  errors {errors}"
            + (f" {self.errors}" if errors else "")
        )


def slash_command(secret: str, n: int) -> tuple[bytes, dict[str, str]]:
    body = urlencode(
        {
            "token": "bench",
            "team_id": "T0SANDBOX",
            "team_domain": "sandbox",
            "channel_id": "C0GENERAL",
            "channel_name": "general",
            "user_id": "U0ALICE",
            "user_name": "alice",
            "command": "/ops",
            "text": "help",
            "api_app_id": "A0OPSBOT",
            "response_url": "http://127.0.0.1:9/hooks/x",
            "trigger_id": f"{n}.1.bench",
        }
    ).encode()
    headers = {"Content-Type": "application/x-www-form-urlencoded"}
    return body, {**headers, **signed_headers(secret, int(time.time()), body)}


def event(secret: str, n: int) -> tuple[bytes, dict[str, str]]:
    """A channel message, as Slack sends it: opsbot stores it for digests (a real write)."""
    now = time.time()
    body = json.dumps({
        "token": "bench", "team_id": "T0SANDBOX", "api_app_id": "A0OPSBOT",
        "type": "event_callback", "event_id": f"Ev{uuid.uuid4().hex[:16]}",
        "event_time": int(now),
        "event": {"type": "message", "channel": "C0GENERAL", "channel_type": "channel",
                  "user": "U0BOB", "text": f"message {n}", "ts": f"{now:.6f}",
                  "event_ts": f"{now:.6f}"},
    }).encode()  # fmt: skip
    headers = {"Content-Type": "application/json"}
    return body, {**headers, **signed_headers(secret, int(now), body)}


async def run_load(url: str, secret: str, rate: int, seconds: float, target: str) -> LoadResult:
    """Half slash commands, half events, sent at `rate` per second for `seconds`."""
    result = LoadResult(target=target, rate=rate, seconds=seconds)
    connector = aiohttp.TCPConnector(limit=512)
    timeout = aiohttp.ClientTimeout(total=10)
    async with aiohttp.ClientSession(connector=connector, timeout=timeout) as session:

        async def one(n: int) -> None:
            body, headers = (slash_command if n % 2 else event)(secret, n)
            started = time.perf_counter()
            try:
                async with session.post(url, data=body, headers=headers) as response:
                    await response.read()
                    if response.status != 200:
                        key = f"http_{response.status}"
                        result.errors[key] = result.errors.get(key, 0) + 1
                        return
            except (aiohttp.ClientError, TimeoutError) as error:
                key = type(error).__name__
                result.errors[key] = result.errors.get(key, 0) + 1
                return
            result.latencies.append(time.perf_counter() - started)

        total = int(rate * seconds)
        loop = asyncio.get_running_loop()
        start = loop.time()
        pending: set[asyncio.Task[None]] = set()
        for n in range(total):
            delay = start + n / rate - loop.time()
            if delay > 0:
                await asyncio.sleep(delay)
            task = asyncio.create_task(one(n))
            pending.add(task)
            task.add_done_callback(pending.discard)
        if pending:
            await asyncio.wait(pending, timeout=15)
    return result
