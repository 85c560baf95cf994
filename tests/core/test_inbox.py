"""The Slack event inbox: stored at the acknowledgement (events arriving together share one
transaction), replayed by the worker once the bot knows who it is, its own events dropped."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest
from slack_bolt.request.async_request import AsyncBoltRequest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.app import answer_listener_failure
from bot.core import inbox as inbox_module
from bot.core.db import make_engine, make_sessionmaker
from bot.core.inbox import GroupCommit
from bot.core.ledger import ProcessedEvent
from bot.core.metrics import Metrics
from bot.core.projector import NotReady
from bot.core.tasks import Task
from bot.sandbox import seed
from bot.sandbox.harness import running_bot
from bot.sandbox.server import Sandbox


async def _count(sessions: async_sessionmaker[AsyncSession], model: type) -> int:
    async with sessions() as session:
        return int(await session.scalar(select(func.count()).select_from(model)) or 0)


def commits(metrics: Metrics, source: str = "slack") -> float:
    """The commits the inbox made, as /metrics reports them."""
    return metrics.registry.get_sample_value("opsbot_inbox_commits_total", {"source": source}) or 0


async def test_events_arriving_together_share_one_commit(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    metrics = Metrics()
    inbox = GroupCommit(sessions, "slack", "slack.event", metrics, window=0.05)
    stored = await asyncio.gather(*(inbox.store(f"Ev{n}", {"n": n}) for n in range(40)))
    assert stored == [True] * 40
    assert commits(metrics) == 1
    assert await _count(sessions, Task) == 40 and await _count(sessions, ProcessedEvent) == 40
    async with sessions() as session:
        payloads = sorted(t.payload["n"] for t in await session.scalars(select(Task)))
    assert payloads == list(range(40))


async def test_a_redelivery_is_stored_once_in_the_same_batch_or_later(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    inbox = GroupCommit(sessions, "slack", "slack.event", Metrics(), window=0.05)
    first, again = await asyncio.gather(inbox.store("Ev1", {"a": 1}), inbox.store("Ev1", {"a": 1}))
    assert (first, again) == (True, False)
    assert await inbox.store("Ev1", {"a": 1}) is False
    assert await _count(sessions, Task) == 1


async def test_keys_that_agree_in_what_the_ledger_keeps_are_one_delivery(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    """The ledger keeps 255 characters of a key: two keys equal that far are one delivery, in
    the same batch as later."""
    inbox = GroupCommit(sessions, "slack", "slack.event", Metrics(), window=0.05)
    stem = "E" * 255
    stored = await asyncio.gather(inbox.store(stem + "a", {"n": 1}), inbox.store(stem + "b", {}))
    assert stored == [True, False]
    assert await inbox.store(stem + "c", {}) is False
    assert await _count(sessions, Task) == 1 and await _count(sessions, ProcessedEvent) == 1


async def test_a_full_batch_commits_without_waiting(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    metrics = Metrics()
    inbox = GroupCommit(sessions, "slack", "slack.event", metrics, window=30.0, max_batch=8)
    stored = await asyncio.wait_for(
        asyncio.gather(*(inbox.store(f"Ev{n}", {}) for n in range(8))), timeout=10
    )
    assert all(stored) and commits(metrics) == 1


async def test_close_commits_what_waits_and_waits_for_it(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    metrics = Metrics()
    inbox = GroupCommit(sessions, "slack", "slack.event", metrics, window=30.0)
    waiting = [asyncio.ensure_future(inbox.store(f"Ev{n}", {})) for n in range(3)]
    await asyncio.sleep(0)  # each request is now waiting for the window to end
    await asyncio.wait_for(inbox.close(), timeout=10)
    assert commits(metrics) == 1 and await _count(sessions, Task) == 3
    assert [task.result() for task in waiting] == [True] * 3


async def test_a_failed_commit_fails_every_waiting_request_and_keeps_nothing(
    db_url: str,
) -> None:
    engine = make_engine(db_url)
    sessions = make_sessionmaker(engine)
    metrics = Metrics()
    inbox = GroupCommit(sessions, "slack", "slack.event", metrics, window=0.05)
    async with engine.begin() as connection:  # the table the batch writes to is gone
        await connection.run_sync(lambda sync: Task.__table__.drop(sync))
    results = await asyncio.gather(
        *(inbox.store(f"Ev{n}", {}) for n in range(5)), return_exceptions=True
    )
    assert all(isinstance(result, Exception) for result in results)
    assert await _count(sessions, ProcessedEvent) == 0  # the claims rolled back with it
    assert commits(metrics) == 0
    await engine.dispose()


async def test_a_cancelled_commit_cancels_the_waiting_requests(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    inbox = GroupCommit(sessions, "slack", "slack.event", Metrics(), window=30.0)
    waiting = [asyncio.ensure_future(inbox.store(f"Ev{n}", {})) for n in range(3)]
    await asyncio.sleep(0)
    inbox.batches.flush_now()
    (flush,) = inbox.batches.flushes
    flush.cancel()
    results = await asyncio.gather(*waiting, return_exceptions=True)
    assert all(isinstance(result, asyncio.CancelledError) for result in results)
    assert flush.cancelled()


# -- through the web app ----------------------------------------------------------------


async def test_an_event_that_cannot_be_stored_gets_a_503_that_names_nothing(
    db_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    """Slack delivers again after a 5xx; the answer must not carry the database's error."""
    async with running_bot(db_url, start_workers=False) as bot:

        async def on_emoji(event: dict[str, Any], _body: dict[str, Any]) -> None:
            raise AssertionError("an event that was not stored cannot be handled")

        bot.rt.events.on("emoji_changed", on_emoji)
        async with bot.rt.engine.begin() as connection:
            await connection.run_sync(lambda sync: Task.__table__.drop(sync))
        response = await bot.slack.event({"type": "emoji_changed", "subtype": "add", "name": "x"})
        async with bot.rt.sessions() as session:
            claims = await session.scalar(select(func.count()).select_from(ProcessedEvent))
    assert response.status_code == 503
    assert response.json() == json.loads(inbox_module.NOT_STORED)
    assert claims == 0
    assert any("could not be stored" in r.getMessage() or "not stored" in r.getMessage()
               for r in caplog.records)  # fmt: skip


async def test_a_failed_interaction_is_answered_with_a_fixed_text() -> None:
    error = RuntimeError("connection to db.internal.example:5432 refused")
    request = AsyncBoltRequest(
        body="payload=" + json.dumps({"type": "block_actions", "actions": []}),
        headers={"content-type": ["application/x-www-form-urlencoded"]},
        mode="socket_mode",
    )
    response = await answer_listener_failure(error, request)
    assert response is not None and response.status == 503
    assert "db.internal" not in response.body and "5432" not in response.body
    assert json.loads(response.body) == {
        "ok": False,
        "error": "the request failed on our side and changed nothing; try again",
    }


async def test_the_bots_own_events_never_reach_subscribers(db_url: str) -> None:
    """Bolt's rule: the user of an event (also of a message_changed's `message` and a
    message_deleted's `previous_message`) or its bot_id; membership events are kept."""
    seen: list[str] = []
    async with running_bot(db_url) as bot:
        me, my_bot_id = bot.state.bot_user_id, bot.state.bot_id

        async def record(event: dict[str, Any], _body: dict[str, Any]) -> None:
            text = event.get("text") or (event.get("message") or {}).get("text")
            seen.append(f"{event['type']}:{event.get('subtype')}:{text}")

        for kind in ("message", "member_joined_channel", "reaction_added"):
            bot.rt.events.on(kind, record)
        mine = bot.state.post(seed.GENERAL, me, "a card")
        theirs = await bot.slack.user_message(seed.GENERAL, seed.BOB, "hello")
        await bot.slack.user_edit(seed.GENERAL, mine.ts, "a card, updated")  # chat.update
        await bot.slack.user_edit(seed.GENERAL, theirs, "hello again")
        await bot.slack.user_delete(seed.GENERAL, mine.ts)
        item = {"type": "message", "channel": seed.GENERAL, "ts": theirs}
        for event in (
            {"type": "message", "subtype": "bot_message", "bot_id": my_bot_id,
             "text": "as the app", "channel": seed.GENERAL, "ts": "1.1"},
            {"type": "reaction_added", "user": me, "reaction": "eyes", "item": item},
            {"type": "member_joined_channel", "user": me, "channel": seed.GENERAL},
        ):  # fmt: skip
            await bot.slack.event(event)
        await bot.settle()
    # Stored events run concurrently: their order is not the order of arrival.
    assert sorted(seen) == [
        "member_joined_channel:None:None",
        "message:None:hello",
        "message:message_changed:hello again",
    ]


async def test_events_wait_until_the_bot_knows_who_it_is(db_url: str) -> None:
    """While auth.test fails a stored event is not handed on (its task waits); once the
    identity is known, the bot's own message stored meanwhile is still dropped."""
    sandbox = Sandbox()
    await sandbox.start()
    sandbox.state.faults.fail_next("auth.test", "fatal_error", count=1000)
    seen: list[str] = []
    try:
        async with running_bot(db_url, sandbox=sandbox, start_workers=False) as bot:

            async def record(event: dict[str, Any], _body: dict[str, Any]) -> None:
                seen.append(event["text"])

            bot.rt.events.on("message", record)
            bot.rt.identity.retry_seconds = 0
            for user, text in ((bot.state.bot_user_id, "mine"), (seed.BOB, "theirs")):
                await bot.slack.event({"type": "message", "user": user, "text": text,
                                       "channel": seed.GENERAL, "ts": "1.1"})  # fmt: skip
            replay = bot.rt.tasks.handlers[inbox_module.SLACK_EVENT_TASK]
            async with bot.rt.sessions() as session:
                stored = [t.payload for t in await session.scalars(select(Task).order_by(Task.id))]
            for payload in stored:
                with pytest.raises(NotReady):
                    await replay(payload)
            assert seen == [] and bot.rt.identity.known is None
            sandbox.state.faults.clear()  # Slack answers auth.test again
            await bot.rt.start()
            await bot.settle()
    finally:
        await sandbox.stop()
    assert seen == ["theirs"]
