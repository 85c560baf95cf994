from __future__ import annotations

import json
import re

import httpx
import pytest
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.sandbox import Sandbox, SandboxState

pytestmark = pytest.mark.filterwarnings("ignore:The top-level `text` argument is missing")

HEADER = {"type": "header", "text": {"type": "plain_text", "text": "Deploy"}}


async def _error(call: object) -> str:
    with pytest.raises(SlackApiError) as info:
        await call  # type: ignore[misc]
    return str(info.value.response["error"])


async def test_post_message_returns_slack_shape(
    client: AsyncWebClient, state: SandboxState
) -> None:
    resp = await client.chat_postMessage(channel="C0GENERAL", text="hello", blocks=[HEADER])
    assert resp["channel"] == "C0GENERAL"
    assert re.match(r"^\d+\.\d{6}$", resp["ts"])
    message = resp["message"]
    assert message["user"] == "U0OPSBOT" and message["bot_id"] == "B0OPSBOT"
    assert message["blocks"] == [HEADER]
    stored = state.messages("C0GENERAL")
    assert [(m.text, m.ts) for m in stored] == [("hello", resp["ts"])]


async def test_post_to_user_id_opens_dm(client: AsyncWebClient, state: SandboxState) -> None:
    resp = await client.chat_postMessage(channel="U0BOB", text="psst")
    dm = resp["channel"]
    assert dm.startswith("D") and state.channels[dm].im_user == "U0BOB"
    again = await client.chat_postMessage(channel="U0BOB", text="again")
    assert again["channel"] == dm
    assert [m.text for m in state.messages(dm)] == ["psst", "again"]


async def test_post_by_channel_name(client: AsyncWebClient) -> None:
    resp = await client.chat_postMessage(channel="#incidents", text="x")
    assert resp["channel"] == "C0INCIDENTS"


@pytest.mark.parametrize(
    ("kwargs", "error"),
    [
        ({"channel": "C0NOPE", "text": "x"}, "channel_not_found"),
        ({"channel": "U0NOBODY", "text": "x"}, "channel_not_found"),
        ({"channel": "C0RANDOM", "text": "x"}, "not_in_channel"),
        ({"channel": "C0LEADERS", "text": "x"}, "channel_not_found"),
        ({"channel": "C0GENERAL"}, "no_text"),
        ({"channel": "C0GENERAL", "text": "x" * 40001}, "msg_too_long"),
        ({"channel": "C0GENERAL", "text": "x", "blocks": [{"text": "no type"}]}, "invalid_blocks"),
        (
            {"channel": "C0GENERAL", "text": "x", "blocks": [{"type": "divider"}] * 51},
            "too_many_blocks",
        ),
        ({"channel": "C0GENERAL", "text": "x", "blocks": [{"type": "section"}]}, "invalid_blocks"),
    ],
)
async def test_post_message_errors_leave_no_trace(
    client: AsyncWebClient, state: SandboxState, kwargs: dict, error: str
) -> None:
    assert await _error(client.chat_postMessage(**kwargs)) == error
    assert all(not state.all_messages(c) for c in state.channels)


async def test_invalid_blocks_carries_json_pointer(client: AsyncWebClient) -> None:
    long_header = {"type": "header", "text": {"type": "plain_text", "text": "x" * 151}}
    with pytest.raises(SlackApiError) as info:
        await client.chat_postMessage(channel="C0GENERAL", text="x", blocks=[long_header])
    messages = info.value.response["response_metadata"]["messages"]
    assert "json-pointer:/blocks/0/text/text" in messages[0]


async def test_archived_channel_refuses_posts(client: AsyncWebClient, state: SandboxState) -> None:
    state.channels["C0STANDUP"].archived = True
    assert await _error(client.chat_postMessage(channel="C0STANDUP", text="x")) == "is_archived"


async def test_chat_write_public_allows_public_non_member(
    client: AsyncWebClient, state: SandboxState
) -> None:
    state.chat_write_public = True
    resp = await client.chat_postMessage(channel="C0RANDOM", text="hi")
    assert resp["ok"]
    assert (
        await _error(client.chat_postMessage(channel="C0LEADERS", text="x")) == "channel_not_found"
    )


async def test_unknown_thread_ts_is_accepted(client: AsyncWebClient, state: SandboxState) -> None:
    resp = await client.chat_postMessage(channel="C0GENERAL", text="orphan", thread_ts="1.000001")
    assert resp["message"]["thread_ts"] == "1.000001"
    assert state.replies("C0GENERAL", "1.000001")[0].text == "orphan"


async def test_thread_reply_counts_through_api(client: AsyncWebClient) -> None:
    parent = await client.chat_postMessage(channel="C0GENERAL", text="parent")
    for i in range(3):
        await client.chat_postMessage(channel="C0GENERAL", text=f"r{i}", thread_ts=parent["ts"])
    history = await client.conversations_history(channel="C0GENERAL")
    top = history["messages"]
    assert len(top) == 1 and top[0]["reply_count"] == 3 and top[0]["thread_ts"] == parent["ts"]
    replies = await client.conversations_replies(channel="C0GENERAL", ts=parent["ts"])
    assert [m["text"] for m in replies["messages"]] == ["parent", "r0", "r1", "r2"]
    assert replies["messages"][1]["parent_user_id"] == "U0OPSBOT"


async def test_metadata_round_trip_needs_include_all_metadata(client: AsyncWebClient) -> None:
    metadata = {"event_type": "incident_opened", "event_payload": {"id": 7, "sev": "SEV1"}}
    await client.chat_postMessage(channel="C0INCIDENTS", text="SEV1", metadata=metadata)
    plain = await client.conversations_history(channel="C0INCIDENTS")
    assert "metadata" not in plain["messages"][0]
    rich = await client.conversations_history(channel="C0INCIDENTS", include_all_metadata=True)
    assert rich["messages"][0]["metadata"] == metadata


async def test_invalid_metadata_is_rejected(client: AsyncWebClient) -> None:
    error = await _error(client.chat_postMessage(channel="C0GENERAL", text="x", metadata={"a": 1}))
    assert error == "invalid_metadata_format"


async def test_update_and_its_errors(client: AsyncWebClient, state: SandboxState) -> None:
    posted = await client.chat_postMessage(channel="C0GENERAL", text="v1")
    updated = await client.chat_update(
        channel="C0GENERAL", ts=posted["ts"], text="v2", blocks=[HEADER]
    )
    assert updated["text"] == "v2" and updated["ts"] == posted["ts"]
    msg = state.message("C0GENERAL", posted["ts"])
    assert msg is not None and msg.text == "v2" and msg.blocks == [HEADER] and msg.edited
    human = state.post("C0GENERAL", "U0ALICE", "mine")
    missing = client.chat_update(channel="C0GENERAL", ts="1.000001", text="x")
    assert await _error(missing) == "message_not_found"
    assert await _error(client.chat_update(channel="C0GENERAL", ts=human.ts, text="x")) == (
        "cant_update_message"
    )
    assert human.text == "mine"


async def test_delete(client: AsyncWebClient, state: SandboxState) -> None:
    posted = await client.chat_postMessage(channel="C0GENERAL", text="bye")
    deleted = await client.chat_delete(channel="C0GENERAL", ts=posted["ts"])
    assert deleted["ts"] == posted["ts"]
    assert state.messages("C0GENERAL") == []
    again = client.chat_delete(channel="C0GENERAL", ts=posted["ts"])
    assert await _error(again) == "message_not_found"


async def test_post_ephemeral(client: AsyncWebClient, state: SandboxState) -> None:
    resp = await client.chat_postEphemeral(channel="C0CIALERTS", user="U0BOB", text="only you")
    assert resp["message_ts"]
    assert [(e.user, e.text) for e in state.ephemerals] == [("U0BOB", "only you")]
    outsider = client.chat_postEphemeral(channel="C0CIALERTS", user="U0ERIN", text="x")
    assert await _error(outsider) == "user_not_in_channel"
    assert state.messages("C0CIALERTS") == []


async def test_permalink(client: AsyncWebClient) -> None:
    parent = await client.chat_postMessage(channel="C0GENERAL", text="p")
    link = await client.chat_getPermalink(channel="C0GENERAL", message_ts=parent["ts"])
    assert link["permalink"] == (
        f"https://sandbox.slack.test/archives/C0GENERAL/p{parent['ts'].replace('.', '')}"
    )
    reply = await client.chat_postMessage(channel="C0GENERAL", text="r", thread_ts=parent["ts"])
    reply_link = await client.chat_getPermalink(channel="C0GENERAL", message_ts=reply["ts"])
    assert reply_link["permalink"].endswith(f"?thread_ts={parent['ts']}&cid=C0GENERAL")


async def test_schedule_message(client: AsyncWebClient, state: SandboxState) -> None:
    post_at = int(state.now()) + 3600
    resp = await client.chat_scheduleMessage(channel="C0GENERAL", text="later", post_at=post_at)
    assert resp["scheduled_message_id"].startswith("Q") and resp["post_at"] == post_at
    assert state.messages("C0GENERAL") == []
    assert [s.text for s in state.scheduled] == ["later"]
    past = client.chat_scheduleMessage(channel="C0GENERAL", text="x", post_at=1)
    assert await _error(past) == "time_in_past"


async def test_auth_errors(sandbox: Sandbox, state: SandboxState) -> None:
    no_token = AsyncWebClient(base_url=sandbox.url)
    assert await _error(no_token.auth_test()) == "not_authed"
    bad = AsyncWebClient(token="bogus", base_url=sandbox.url)
    assert await _error(bad.chat_postMessage(channel="C0GENERAL", text="x")) == "invalid_auth"
    state.valid_tokens = {"xoxb-right"}
    wrong = AsyncWebClient(token="xoxb-wrong", base_url=sandbox.url)
    assert await _error(wrong.auth_test()) == "invalid_auth"
    right = AsyncWebClient(token="xoxb-right", base_url=sandbox.url)
    assert (await right.auth_test())["user_id"] == "U0OPSBOT"
    assert state.messages("C0GENERAL") == []


async def test_unknown_method(client: AsyncWebClient) -> None:
    assert await _error(client.api_call("chat.teleport")) == "unknown_method"


async def test_form_body_with_json_string_blocks(
    asgi: tuple[SandboxState, httpx.AsyncClient],
) -> None:
    state, http = asgi
    body = {"channel": "C0GENERAL", "text": "form", "blocks": json.dumps([HEADER])}
    resp = await http.post(
        "/api/chat.postMessage", data=body, headers={"Authorization": "Bearer xoxb-x"}
    )
    assert resp.status_code == 200 and resp.json()["ok"] is True
    assert state.messages("C0GENERAL")[0].blocks == [HEADER]


async def test_token_in_body_and_calls_recorded(
    asgi: tuple[SandboxState, httpx.AsyncClient],
) -> None:
    state, http = asgi
    resp = await http.post("/api/auth.test", data={"token": "xoxb-x"})
    assert resp.json()["ok"] is True
    call = state.calls_to("auth.test")[0]
    assert call.status == 200 and call.response["user_id"] == "U0OPSBOT"
    assert "token" not in call.args
