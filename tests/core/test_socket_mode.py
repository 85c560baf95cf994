"""`opsbot socket`: Socket Mode for Slack traffic, the same HTTP server for everything else."""

from __future__ import annotations

import asyncio
import socket
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select

import bot.socket_mode
from bot.app import Runtime, build_runtime
from bot.config import Settings
from bot.core.tasks import Task
from bot.sandbox import seed
from bot.sandbox.harness import create_tables, sandbox_settings
from bot.sandbox.server import Sandbox
from bot.sandbox.socket_mode import command_over_socket, event_over_socket
from bot.socket_mode import run_socket_mode


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def subscribe_to_emoji_changes(monkeypatch: pytest.MonkeyPatch) -> None:
    """Something must subscribe, or the inbox rightly drops the event without storing it."""

    def build_with_subscriber(settings: Settings) -> Runtime:
        rt = build_runtime(settings)

        async def ignore(_event: dict[str, Any], _body: dict[str, Any]) -> None:
            return None

        rt.events.on("emoji_changed", ignore)
        return rt

    monkeypatch.setattr(bot.socket_mode, "build_runtime", build_with_subscriber)


async def test_socket_mode_answers_commands_and_stores_events(
    db_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    async with Sandbox() as sandbox:
        settings = sandbox_settings(sandbox, db_url, slack_app_token="xapp-1-A0OPSBOT-test")
        await create_tables(db_url)
        subscribe_to_emoji_changes(monkeypatch)
        port = _free_port()
        running = asyncio.create_task(run_socket_mode(settings, "127.0.0.1", port))
        try:
            await asyncio.wait_for(sandbox.socket_mode.connected.wait(), 10)
            answer = await command_over_socket(
                sandbox.socket_mode, sandbox.state, "/ops", "help", seed.ALICE, seed.GENERAL
            )
            assert "/ops help" in answer["text"]
            event = {"type": "emoji_changed", "subtype": "add", "name": "shipit"}
            ack = await event_over_socket(sandbox.socket_mode, sandbox.state, event)
            assert ack == {}
            async with httpx.AsyncClient() as http:
                for _ in range(100):
                    try:
                        health = await http.get(f"http://127.0.0.1:{port}/healthz")
                        break
                    except httpx.TransportError:
                        await asyncio.sleep(0.05)
            assert health.status_code == 200
        finally:
            running.cancel()
            await asyncio.gather(running, return_exceptions=True)

        from bot.core.db import make_engine, make_sessionmaker

        engine = make_engine(db_url)
        async with make_sessionmaker(engine)() as session:
            stored = await session.scalar(select(func.count()).select_from(Task))
        await engine.dispose()
        assert stored == 1  # the event went through the same durable inbox as over HTTP
        assert len(sandbox.socket_mode.tickets) == 1  # one apps.connections.open, app token


async def test_socket_mode_without_a_signing_secret_serves_slack_only_over_the_socket(
    db_url: str,
) -> None:
    async with Sandbox() as sandbox:
        settings = sandbox_settings(sandbox, db_url, slack_app_token="xapp-1-A0OPSBOT-test")
        settings = settings.model_copy(update={"slack_signing_secret": None})
        await create_tables(db_url)
        port = _free_port()
        running = asyncio.create_task(run_socket_mode(settings, "127.0.0.1", port))
        try:
            await asyncio.wait_for(sandbox.socket_mode.connected.wait(), 10)
            answer = await command_over_socket(
                sandbox.socket_mode, sandbox.state, "/ops", "help", seed.ALICE, seed.GENERAL
            )
            assert answer.get("text")  # the websocket path needs no signature
            async with httpx.AsyncClient() as http:
                for _ in range(100):
                    try:
                        forged = await http.post(
                            f"http://127.0.0.1:{port}/slack/events",
                            content=b"command=%2Fincident&text=declare+sev1+x&user_id=U0ADMIN",
                            headers={"Content-Type": "application/x-www-form-urlencoded"},
                        )
                        break
                    except httpx.TransportError:
                        await asyncio.sleep(0.05)
            assert forged.status_code == 503
            assert "SLACK_SIGNING_SECRET" in forged.json()["error"]
        finally:
            running.cancel()
            await asyncio.gather(running, return_exceptions=True)
