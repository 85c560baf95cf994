"""`opsbot serve` as a real process that a test can SIGKILL and start again."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import subprocess
import sys
from pathlib import Path
from typing import Any

import httpx
import yaml
from sqlalchemy import func, select

from bot.core.db import make_engine, make_sessionmaker
from bot.core.projector import Projection
from bot.core.tasks import Task

SIGNING_SECRET = "fault-signing-secret"
GITHUB_SECRET = "fault-github-secret"
ROOT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class BotProcess:
    def __init__(self, database_url: str, api_url: str, config: dict[str, Any], workdir: Path):
        self.database_url = database_url
        self.api_url = api_url
        self.port = free_port()
        self.config_file = workdir / "opsbot.yml"
        self.config_file.write_text(yaml.safe_dump(config))
        self.log = workdir / "bot.log"
        self.child: subprocess.Popen[bytes] | None = None
        self.starts = 0

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def env(self) -> dict[str, str]:
        clean = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "OPSBOT_"))}
        return {
            **clean,
            "SLACK_BOT_TOKEN": "xoxb-fault",
            "SLACK_SIGNING_SECRET": SIGNING_SECRET,
            "SLACK_API_URL": self.api_url,
            "DATABASE_URL": self.database_url,
            "OPSBOT_CONFIG": str(self.config_file),
            "GITHUB_WEBHOOK_SECRET": GITHUB_SECRET,
            "TUNING__LEASE_SECONDS": "1",
            "TUNING__TASK_SWEEP_SECONDS": "0.2",
            "TUNING__PROJECTOR_SWEEP_SECONDS": "0.2",
            "TUNING__BACKOFF_BASE": "0.1",
            "TUNING__PACER_SPEEDUP": "20",
        }

    async def start(self) -> None:
        self.starts += 1
        with self.log.open("ab") as log:
            # Popen returns at once; only waiting on a child blocks.
            self.child = subprocess.Popen(  # noqa: ASYNC220
                [
                    sys.executable,
                    "-m",
                    "bot.cli",
                    "serve",
                    "--host",
                    "127.0.0.1",
                    "--port",
                    str(self.port),
                ],
                env=self.env(),
                stdout=log,
                stderr=log,
                cwd=ROOT,
            )
        async with httpx.AsyncClient() as http:
            for _ in range(400):
                try:
                    if (await http.get(f"{self.base}/healthz", timeout=0.5)).status_code == 200:
                        return
                except httpx.TransportError:
                    pass
                if self.child.poll() is not None:
                    raise RuntimeError(f"bot exited: {self.log.read_text()[-2000:]}")
                await asyncio.sleep(0.05)
        raise RuntimeError("bot did not come up")

    def kill(self) -> None:
        """SIGKILL: no shutdown hooks, no flushing, exactly like a crashed container."""
        if self.child and self.child.poll() is None:
            os.kill(self.child.pid, signal.SIGKILL)
            self.child.wait(timeout=10)

    def stop(self) -> None:
        if self.child and self.child.poll() is None:
            self.child.terminate()
            try:
                self.child.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.child.kill()


async def wait_until_settled(database_url: str, timeout: float = 60.0) -> None:
    """No task due or running and every view in sync, read straight from the database."""
    engine = make_engine(database_url)
    sessions = make_sessionmaker(engine)
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    try:
        while loop.time() < deadline:
            async with sessions() as session:
                tasks = await session.scalar(
                    select(func.count()).select_from(Task).where(Task.status == "pending")
                )
                views = await session.scalar(
                    select(func.count())
                    .select_from(Projection)
                    .where(
                        Projection.status == "active",
                        Projection.version > Projection.synced_version,
                    )
                )
            if tasks == 0 and views == 0:
                return
            await asyncio.sleep(0.1)
        raise TimeoutError(f"not settled: {tasks} tasks pending, {views} views out of sync")
    finally:
        await engine.dispose()
