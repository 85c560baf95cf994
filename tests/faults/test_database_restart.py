"""PostgreSQL restarts under load: the bot recovers by itself and loses nothing it acknowledged.

What this proves: every event acknowledged to Slack (a 200) is written exactly once by a writer
subscriber (`EventBus.record`), however the restart falls. The effect here has no unique key
(each run of the writer inserts a fresh row), so a writer run twice, or run with its rows
committed apart from the event's completion, leaves two rows for one event and fails the test.
Exactly once holds because the writer's rows and the task's completion are one transaction.
"""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.core import ledger
from bot.core.ledger import ProcessedEvent
from bot.sandbox.harness import running_bot
from tests.pg import ThrowawayPostgres


async def test_postgres_restart_delivers_acknowledged_events_at_least_once_one_effect_row_each(
    postgres_db_url: str, postgres_server: ThrowawayPostgres | None
) -> None:
    if postgres_server is None:  # a server given by URL is not ours to restart
        pytest.skip("OPSBOT_TEST_POSTGRES_URL is set: this test restarts only its own cluster")
    db_url = postgres_db_url
    handled: list[str] = []
    acknowledged: list[str] = []
    refused = 0
    async with running_bot(db_url) as bot:

        async def remember(
            session: AsyncSession, items: list[tuple[dict[str, Any], dict[str, Any]]]
        ) -> None:
            # A fresh key per run: nothing absorbs a repeat, so a second run shows as a row.
            for event, _body in items:
                await ledger.claim(session, "emoji-effect", f"{event['name']}/{uuid.uuid4()}")
                handled.append(event["name"])

        bot.rt.events.record("emoji_changed", remember)

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
    assert health.status_code == 200, "the bot did not recover without being restarted"
    assert len(acknowledged) == 120
    # At least once: handled may hold an event twice (a repeated delivery); none may be missing.
    written = sorted(key.split("/")[0] for key in effects)
    missing = sorted(set(acknowledged) - set(written))
    assert not missing, f"acknowledged, never written: {missing}"
    twice = sorted({name for name in written if written.count(name) > 1})
    assert written == sorted(acknowledged), f"written more than once: {twice}"
    # Runs rolled back with the restart leave no rows: `handled` may count them, the table not.
    assert len(handled) >= len(written)
