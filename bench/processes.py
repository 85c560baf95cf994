"""Processes a benchmark runs on loopback: the sandbox, `opsbot serve`, a bare Bolt app."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx

SIGNING_SECRET = "bench-signing-secret"
ROOT = Path(__file__).resolve().parent.parent
# The process behind each base URL a context manager here yields, for CPU accounting.
PIDS: dict[str, int] = {}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_until_up(url: str, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            httpx.get(url, timeout=0.5)
            return
        except httpx.TransportError:
            time.sleep(0.05)
    raise RuntimeError(f"{url} did not come up")


@contextmanager
def process(
    args: list[str], env: dict[str, str], probe: str, startup_timeout: float = 30.0
) -> Iterator[subprocess.Popen[bytes]]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "OPSBOT_"))}
    log = open(os.environ.get("BENCH_LOG", os.devnull), "ab")  # noqa: SIM115
    child = subprocess.Popen(args, env={**clean, **env}, stdout=log, stderr=log, cwd=ROOT)
    try:
        wait_until_up(probe, startup_timeout)
        yield child
    finally:
        child.terminate()
        try:
            child.wait(timeout=10)
        except subprocess.TimeoutExpired:
            child.kill()
        log.close()


@contextmanager
def sandbox() -> Iterator[str]:
    port = free_port()
    args = [sys.executable, "-m", "bench.sandbox_server", str(port)]
    with process(args, {}, f"http://127.0.0.1:{port}/sandbox/transcript"):
        yield f"http://127.0.0.1:{port}/api/"


def bot_env(database_url: str, api_url: str, **extra: str) -> dict[str, str]:
    """The environment of an `opsbot serve` under bench: the sandbox's token and URL."""
    return {
        "SLACK_BOT_TOKEN": "xoxb-bench",
        "SLACK_SIGNING_SECRET": SIGNING_SECRET,
        "SLACK_API_URL": api_url,
        "DATABASE_URL": database_url,
        "LOG_LEVEL": "WARNING",
        **extra,
    }


@contextmanager
def opsbot(
    database_url: str, api_url: str, extra_env: dict[str, str] | None = None, workers: int = 1
) -> Iterator[str]:
    port = free_port()
    env = bot_env(database_url, api_url, **(extra_env or {}))
    args = [sys.executable, "-m", "bot.cli", "serve", "--host", "127.0.0.1", "--port", str(port),
            "--workers", str(workers)]  # fmt: skip
    with process(args, env, f"http://127.0.0.1:{port}/healthz") as child:
        PIDS[f"http://127.0.0.1:{port}"] = child.pid
        yield f"http://127.0.0.1:{port}"


@contextmanager
def bare_bolt(api_url: str) -> Iterator[str]:
    port = free_port()
    env = {"SLACK_SIGNING_SECRET": SIGNING_SECRET, "SLACK_API_URL": api_url}
    args = [sys.executable, "-m", "bench.bare_app", str(port)]
    with process(args, env, f"http://127.0.0.1:{port}/healthz") as child:
        PIDS[f"http://127.0.0.1:{port}"] = child.pid
        yield f"http://127.0.0.1:{port}"


def cpu_seconds(pid: int) -> float:
    """User and system CPU of a process and its live descendants (uvicorn workers), from /proc."""
    tick = os.sysconf("SC_CLK_TCK")
    children: dict[int, list[int]] = {}
    stats: dict[int, list[str]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        stats[int(entry.name)] = fields
        children.setdefault(int(fields[1]), []).append(int(entry.name))
    total, todo = 0.0, [pid]
    while todo:
        current = todo.pop()
        fields = stats.get(current)
        if fields:
            total += (int(fields[11]) + int(fields[12])) / tick  # utime, stime
        todo += children.get(current, [])
    return total
