"""A running bot wired to a running sandbox: used by the tests, the demo and the benchmarks."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

import httpx
from pydantic import SecretStr

from bot.app import Runtime, Tuning, build_runtime
from bot.config import Settings
from bot.core.db import make_engine
from bot.models import metadata
from bot.sandbox.driver import SlackDriver
from bot.sandbox.server import Sandbox

SIGNING_SECRET = "sandbox-signing-secret"
BOT_TOKEN = "xoxb-sandbox-token"
FAST = Tuning(
    lease_seconds=5.0,
    task_sweep_seconds=0.1,
    projector_sweep_seconds=0.2,
    backoff_base=0.05,
    # The sandbox enforces no limits unless a test turns them on (and scales both sides).
    pacer_speedup=20.0,
)


@dataclass
class BotUnderTest:
    rt: Runtime
    sandbox: Sandbox
    slack: SlackDriver
    http: httpx.AsyncClient

    @property
    def state(self) -> Any:
        return self.sandbox.state

    async def settle(self, timeout: float = 15.0) -> None:
        await self.rt.settle(timeout)


# Where the bot under test says it is served (OAuth's redirect URI is built from it).
PUBLIC_URL = "https://bot"


def sandbox_settings(
    sandbox: Sandbox, database_url: str, *, oauth: bool = False, **config: Any
) -> Settings:
    """Settings pointing at the sandbox: its bot token, or (`oauth`) its app's client id and
    secret, so that workspaces install the bot through the sandbox's OAuth pages."""
    credentials: dict[str, Any] = {"slack_bot_token": SecretStr(BOT_TOKEN)}
    if oauth:
        app = sandbox.state.oauth
        credentials = {
            "slack_client_id": app.client_id,
            "slack_client_secret": SecretStr(app.client_secret),
            "opsbot_public_url": PUBLIC_URL,
        }
    return Settings(
        slack_signing_secret=SecretStr(SIGNING_SECRET),
        slack_api_url=sandbox.url,
        database_url=database_url,
        **{**credentials, **config},
    )


async def create_tables(database_url: str) -> None:
    engine = make_engine(database_url)
    async with engine.begin() as connection:
        await connection.run_sync(metadata.create_all)
    await engine.dispose()


@asynccontextmanager
async def running_bot(
    database_url: str,
    *,
    sandbox: Sandbox | None = None,
    tuning: Tuning = FAST,
    start_workers: bool = True,
    oauth: bool = False,
    **config: Any,
) -> AsyncIterator[BotUnderTest]:
    """The real web app over ASGI, its workers running, talking to a sandbox on loopback;
    `oauth`: in OAuth mode, with no workspace installed yet."""
    own_sandbox = sandbox is None
    if sandbox is None:
        sandbox = Sandbox()
        await sandbox.start()
    rt = build_runtime(sandbox_settings(sandbox, database_url, oauth=oauth, **config), tuning)
    assert rt.web is not None
    transport = httpx.ASGITransport(app=rt.web)
    http = httpx.AsyncClient(transport=transport, base_url="http://bot")
    driver = SlackDriver(
        "http://bot/slack/events", SIGNING_SECRET, sandbox.state, sandbox.base, client=http
    )
    if start_workers:
        await rt.start()
    try:
        yield BotUnderTest(rt=rt, sandbox=sandbox, slack=driver, http=http)
    finally:
        await http.aclose()
        await rt.stop()
        if own_sandbox:
            await sandbox.stop()
