"""The web app: signed requests in, acknowledgements out, events handled once."""

from __future__ import annotations

import asyncio
import json
import time
from typing import Any

from sqlalchemy import func, select

from bot.core.ledger import ProcessedEvent
from bot.core.tasks import Task
from bot.sandbox import seed
from bot.sandbox.harness import BotUnderTest


async def test_ops_help_lists_every_registered_command(bot: BotUnderTest) -> None:
    response = await bot.slack.command("/ops", "help", user=seed.ALICE, channel=seed.GENERAL)
    assert response.status_code == 200
    body = response.json()
    for usage in bot.rt.commands.all():
        assert usage.command in body["text"]
        for syntax, _ in usage.lines:
            assert f"{usage.command} {syntax}" in body["text"]
    assert body.get("response_type", "ephemeral") == "ephemeral"


async def test_ops_with_unknown_subcommand_says_what_to_type(bot: BotUnderTest) -> None:
    response = await bot.slack.command("/ops", "frobnicate", user=seed.ALICE)
    assert "Unknown /ops subcommand `frobnicate`" in response.json()["text"]
    assert "/ops help" in response.json()["text"]


async def test_stale_timestamp_and_bad_signature_get_401(bot: BotUnderTest) -> None:
    stale = bot.slack.tampered(timestamp=str(int(time.time()) - 301))
    assert (await stale.command("/ops", "help")).status_code == 401
    forged = bot.slack.tampered(secret="not-the-secret")
    assert (await forged.command("/ops", "help")).status_code == 401
    unsigned = await bot.http.post("/slack/events", content=b"command=%2Fops&text=help")
    assert unsigned.status_code == 401


async def test_redelivered_event_has_one_effect(bot: BotUnderTest) -> None:
    seen: list[str] = []

    async def on_emoji(event: dict[str, Any], _body: dict[str, Any]) -> None:
        seen.append(event["name"])

    bot.rt.events.on("emoji_changed", on_emoji)

    first = await bot.slack.event({"type": "emoji_changed", "subtype": "add", "name": "tada"})
    assert first.status_code == 200
    for _ in range(2):
        again = await bot.slack.redeliver()
        assert again.status_code == 200
    await bot.settle()
    assert seen == ["tada"]
    assert [d.status for d in bot.slack.deliveries] == [200, 200, 200]
    async with bot.rt.sessions() as session:
        claims = await session.scalar(select(func.count()).select_from(ProcessedEvent))
        queued = await session.scalar(select(func.count()).select_from(Task))
    assert (claims, queued) == (1, 1)


async def test_event_is_stored_before_the_ack_and_handled_after(db_url: str) -> None:
    from bot.sandbox.harness import running_bot

    seen: list[str] = []

    async def on_emoji(event: dict[str, Any], _body: dict[str, Any]) -> None:
        seen.append(event["name"])

    async with running_bot(db_url, start_workers=False) as stopped:
        stopped.rt.events.on("emoji_changed", on_emoji)
        ack = await stopped.slack.event({"type": "emoji_changed", "subtype": "add", "name": "x"})
        assert ack.status_code == 200
        async with stopped.rt.sessions() as session:
            pending = (await session.scalars(select(Task))).all()
        assert [task.payload["event"]["name"] for task in pending] == ["x"]
        sandbox = stopped.sandbox
        # The process dies here; a new one on the same database finishes the work.
        async with running_bot(db_url, sandbox=sandbox) as restarted:
            restarted.rt.events.on("emoji_changed", on_emoji)

            await restarted.settle()
    assert seen == ["x"]


async def test_url_verification_echoes_the_challenge(bot: BotUnderTest) -> None:
    response = await bot.slack.url_verification("abc123")
    assert response.status_code == 200 and "abc123" in response.text


async def test_healthz_and_metrics(bot: BotUnderTest) -> None:
    health = await bot.http.get("/healthz")
    assert health.status_code == 200 and health.json()["ok"] is True
    await bot.slack.command("/ops", "help")
    metrics = await bot.http.get("/metrics")
    assert metrics.status_code == 200
    assert 'opsbot_http_requests_total{route="/slack/events",status="200"}' in metrics.text


async def test_healthz_is_503_when_the_database_is_gone(tmp_path: Any) -> None:
    from bot.sandbox.harness import running_bot

    missing = tmp_path / "nowhere" / "db.sqlite"
    async with running_bot(f"sqlite+aiosqlite:///{missing}", start_workers=False) as broken:
        health = await broken.http.get("/healthz")
    assert health.status_code == 503 and health.json()["ok"] is False


async def test_event_without_event_id_is_refused_with_a_reason(bot: BotUnderTest) -> None:
    body = json.dumps({"type": "event_callback", "event": {"type": "message"}}).encode()
    response = await bot.slack.send(body, "application/json", "event")
    assert response.status_code == 400 and "event_id" in response.text
    async with bot.rt.sessions() as session:
        assert await session.scalar(select(func.count()).select_from(Task)) == 0


async def test_every_subscriber_gets_the_event_and_a_failure_is_retried(
    bot: BotUnderTest,
) -> None:
    first: list[str] = []
    second: list[str] = []
    attempts: list[int] = []

    async def record_first(event: dict[str, Any], _body: dict[str, Any]) -> None:
        first.append(event["name"])

    async def flaky_second(event: dict[str, Any], _body: dict[str, Any]) -> None:
        attempts.append(1)
        if len(attempts) == 1:
            raise ConnectionError("transient")
        second.append(event["name"])

    bot.rt.events.on("emoji_changed", record_first)
    bot.rt.events.on("emoji_changed", flaky_second)
    from sqlalchemy import update as sql_update

    from bot.core.db import transaction, utcnow

    await bot.slack.event({"type": "emoji_changed", "subtype": "add", "name": "party"})
    for _ in range(100):  # make the retry due at once instead of waiting for its backoff
        async with transaction(bot.rt.sessions) as session:
            await session.execute(sql_update(Task).values(run_after=utcnow()))
        if second:
            break
        await asyncio.sleep(0.05)
    await bot.settle()
    assert second == ["party"] and len(attempts) == 2
    assert first == ["party", "party"]  # subscribers are idempotent; a retry repeats them


async def test_an_event_nobody_subscribes_to_is_acknowledged_and_not_stored(
    bot: BotUnderTest,
) -> None:
    response = await bot.slack.event({"type": "emoji_changed", "subtype": "add", "name": "x"})
    assert response.status_code == 200
    async with bot.rt.sessions() as session:
        assert await session.scalar(select(func.count()).select_from(Task)) == 0
        assert await session.scalar(select(func.count()).select_from(ProcessedEvent)) == 0


async def test_metrics_label_routes_not_raw_paths(db_url: str) -> None:
    """Random paths (scanners, typos) must not each become a metric series."""
    from bot.sandbox.harness import running_bot

    async with running_bot(db_url, start_workers=False) as bot:
        for n in range(20):
            await bot.http.get(f"/no/such/path/{n}")
        await bot.http.get("/healthz")
        text = (await bot.http.get("/metrics")).text
    assert "/no/such/path" not in text
    assert 'route="unmatched"' in text and 'route="/healthz"' in text


async def test_liveness_readiness_and_what_they_reveal(tmp_path: Any) -> None:
    """A database outage makes a replica unready, never dead; neither answer names a host."""
    from bot.sandbox.harness import running_bot

    missing = tmp_path / "nowhere" / "db.sqlite"
    async with running_bot(f"sqlite+aiosqlite:///{missing}") as broken:
        live = await broken.http.get("/livez")
        ready = await broken.http.get("/readyz")
    assert live.status_code == 200 and live.json() == {"ok": True}
    assert ready.status_code == 503
    assert ready.json() == {"ok": False, "database": "unreachable", "workers": "running"}
    assert "nowhere" not in ready.text and "sqlite" not in ready.text

    async with running_bot(
        f"sqlite+aiosqlite:///{tmp_path}/db.sqlite", start_workers=False
    ) as idle:
        stopped = await idle.http.get("/readyz")
    assert stopped.status_code == 503 and stopped.json()["workers"] == "stopped"
