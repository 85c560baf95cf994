"""A stock slack_bolt app must run against the sandbox unchanged, both directions."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from slack_bolt.adapter.starlette.async_handler import AsyncSlackRequestHandler
from slack_bolt.async_app import AsyncApp
from slack_sdk.web.async_client import AsyncWebClient
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from bot.sandbox import Sandbox, SandboxState, SlackDriver

SECRET = "bolt-signing-secret"


def _bolt_app(sandbox: Sandbox) -> AsyncApp:
    client = AsyncWebClient(token="xoxb-bolt", base_url=sandbox.url)
    app = AsyncApp(client=client, signing_secret=SECRET)

    @app.command("/ops")
    async def ops(ack: Any, respond: Any, say: Any, command: dict) -> None:
        await ack("working on it")
        await say(f"<@{command['user_id']}> asked for {command['text']}")
        await respond("done")

    @app.event("app_mention")
    async def mention(event: dict, say: Any) -> None:
        await say(text="looking", thread_ts=event["ts"])

    @app.action("ack")
    async def acknowledge(ack: Any, body: dict, respond: Any) -> None:
        await ack()
        await respond(replace_original=True, text=f"Acked by <@{body['user']['id']}>")

    return app


@pytest.fixture
async def bolt_driver(sandbox: Sandbox) -> AsyncIterator[SlackDriver]:
    handler = AsyncSlackRequestHandler(_bolt_app(sandbox))

    async def endpoint(request: Request) -> Response:
        return await handler.handle(request)

    web = Starlette(routes=[Route("/slack/events", endpoint, methods=["POST"])])
    transport = httpx.ASGITransport(app=web)
    async with httpx.AsyncClient(transport=transport, base_url="http://bot") as http:
        yield SlackDriver("http://bot/slack/events", SECRET, sandbox.state, sandbox.base, http)


async def test_slash_command_round_trip(bolt_driver: SlackDriver, state: SandboxState) -> None:
    resp = await bolt_driver.command("/ops", "status", user="U0ALICE", channel="C0GENERAL")
    assert resp.status_code == 200
    await state.wait_for(lambda: state.messages("C0GENERAL") and len(state.ephemerals) == 2)
    assert [m.text for m in state.messages("C0GENERAL")] == ["<@U0ALICE> asked for status"]
    # The ack and the response_url post race, exactly as they do against real Slack
    assert sorted((e.text, e.source) for e in state.ephemerals) == [
        ("done", "response_url"),
        ("working on it", "command_ack"),
    ]
    assert state.calls_to("auth.test") and state.calls_to("chat.postMessage")[0].status == 200


async def test_mention_gets_threaded_answer(bolt_driver: SlackDriver, state: SandboxState) -> None:
    ts = await bolt_driver.user_message("C0INCIDENTS", "U0BOB", "<@U0OPSBOT> status?")
    replies = await state.wait_for(lambda: state.replies("C0INCIDENTS", ts))
    assert [(r.user, r.text) for r in replies] == [("U0OPSBOT", "looking")]


async def test_button_click_replaces_message(bolt_driver: SlackDriver, state: SandboxState) -> None:
    button = {
        "type": "button",
        "action_id": "ack",
        "text": {"type": "plain_text", "text": "Ack"},
    }
    msg = state.post(
        "C0INCIDENTS",
        state.bot_user_id,
        "SEV1",
        blocks=[{"type": "actions", "block_id": "a", "elements": [button]}],
    )
    await bolt_driver.block_action("U0CAROL", "ack", channel="C0INCIDENTS", message_ts=msg.ts)
    await state.wait_for(lambda: msg.text.startswith("Acked"))
    assert msg.text == "Acked by <@U0CAROL>" and msg.blocks is None


async def test_bad_signature_is_refused_by_bolt(
    bolt_driver: SlackDriver, state: SandboxState
) -> None:
    resp = await bolt_driver.tampered(secret="wrong").command("/ops", "status")
    assert resp.status_code == 401
    assert state.calls_to("chat.postMessage") == []
