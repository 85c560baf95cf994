"""PostgreSQL restarts under load: the bot recovers by itself and loses nothing it acknowledged.

Delivery to subscribers is at least once (DESIGN: a crash after the effect but before the task's
completion repeats it), and subscribers are idempotent by unique rows. So the effect asserted
here is a database write keyed by the event, as every real subscriber's is: exactly one per
acknowledged event, however the restart falls.
"""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from sqlalchemy import select

from bot.core import ledger
from bot.core.db import transaction
from bot.core.ledger import ProcessedEvent
from bot.sandbox.harness import running_bot
from tests.pg import ThrowawayPostgres


async def test_postgres_restart_under_load(
    postgres_db_url: str, postgres_server: ThrowawayPostgres | None
) -> None:
    if postgres_server is None:  # a server given by URL is not ours to restart
        pytest.skip("OPSBOT_TEST_POSTGRES_URL is set: this test restarts only its own cluster")
    db_url = postgres_db_url
    handled: list[str] = []
    acknowledged: list[str] = []
    refused = 0
    async with running_bot(db_url) as bot:

        async def remember(event: dict[str, Any], _body: dict[str, Any]) -> None:
            async with transaction(bot.rt.sessions) as session:
                await ledger.claim(session, "emoji-effect", event["name"])
            handled.append(event["name"])

        bot.rt.events.on("emoji_changed", remember)

        async def send(n: int) -> None:
            nonlocal refused
            event = {"type": "emoji_changed", "subtype": "add", "name": f"e{n}"}
            response = await bot.slack.event(event)
            # Slack retries anything but a 200 (X-Slack-Retry-Num); so do we, until it lands.
            while response.status_code != 200:
                refused += 1
                await asyncio.sleep(0.2)
                response = await bot.slack.redeliver()
            acknowledged.append(f"e{n}")

        async def load() -> None:
            for n in range(120):
                await send(n)
                await asyncio.sleep(0.01)

        sender = asyncio.create_task(load())
        await asyncio.sleep(0.3)
        await asyncio.to_thread(postgres_server.restart)
        assert not sender.done(), "the restart must happen while the load is still running"
        await sender
        await bot.settle(timeout=60)
        health = await bot.http.get("/healthz")
        async with bot.rt.sessions() as session:
            effects = (
                await session.scalars(
                    select(ProcessedEvent.key).where(ProcessedEvent.source == "emoji-effect")
                )
            ).all()
    assert health.status_code == 200  # recovered without restarting the bot
    assert len(acknowledged) == 120
    assert set(handled) == set(acknowledged)  # every acknowledged event reached its subscriber
    assert sorted(effects) == sorted(acknowledged)  # and had its effect exactly once
