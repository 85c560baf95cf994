from __future__ import annotations

import json
import time

import httpx
from starlette.responses import JSONResponse, Response

from bot.sandbox import SandboxState, SlackDriver, sign, verify
from tests.sandbox.conftest import Captured, Receiver

SLACK_DOC_SECRET = "8f742231b10e8888abcd99yyyzzz85a5"
SLACK_DOC_BODY = (
    "token=xyzz0WbapA4vBCDEFasx0q6G&team_id=T1DC2JH3J&team_domain=testteamnow&channel_id=G8PSS9T3V"
    "&channel_name=foobar&user_id=U2CERLKJA&user_name=roadrunner&command=%2Fwebhook-collect&text="
    "&response_url=https%3A%2F%2Fhooks.slack.com%2Fcommands%2FT1DC2JH3J%2F397700885554%2F96rGlfmib"
    "IGlgcZRskXaIFfN&trigger_id=398738663015.47445629121.803a0bc887a14d10d2c447fce8b6703c"
)
SLACK_DOC_SIGNATURE = "v0=a2114d57b48eac39b9ad189dd8316235a7b4a8d21a10bd27519666489c69b503"


def test_signature_matches_slack_documented_example() -> None:
    assert sign(SLACK_DOC_SECRET, 1531420618, SLACK_DOC_BODY) == SLACK_DOC_SIGNATURE
    assert verify(
        SLACK_DOC_SECRET, "1531420618", SLACK_DOC_BODY, SLACK_DOC_SIGNATURE, now=1531420618
    )


def test_verify_rejects_stale_tampered_or_missing() -> None:
    args = (SLACK_DOC_SECRET, "1531420618", SLACK_DOC_BODY, SLACK_DOC_SIGNATURE)
    assert not verify(*args, now=1531420618 + 301)
    assert not verify("other-secret", *args[1:], now=1531420618)
    assert not verify(SLACK_DOC_SECRET, "1531420618", SLACK_DOC_BODY + "x", SLACK_DOC_SIGNATURE)
    assert not verify(SLACK_DOC_SECRET, None, SLACK_DOC_BODY, SLACK_DOC_SIGNATURE)


async def test_command_form_matches_slack(driver: SlackDriver, receiver: Receiver) -> None:
    resp = await driver.command(
        "/ops", "incident declare db down", user="U0BOB", channel="C0GENERAL"
    )
    assert resp.status_code == 200
    captured = receiver.requests[0]
    assert captured.headers["content-type"] == "application/x-www-form-urlencoded"
    form = captured.form()
    assert [k for k, _ in form] == [
        "token",
        "team_id",
        "team_domain",
        "channel_id",
        "channel_name",
        "user_id",
        "user_name",
        "command",
        "text",
        "api_app_id",
        "is_enterprise_install",
        "response_url",
        "trigger_id",
    ]
    fields = dict(form)
    assert fields["command"] == "/ops" and fields["text"] == "incident declare db down"
    assert (fields["user_id"], fields["user_name"]) == ("U0BOB", "bob")
    assert (fields["channel_id"], fields["channel_name"]) == ("C0GENERAL", "general")
    assert fields["response_url"].startswith(f"{driver.sandbox_base}/hooks/T0SANDBOX/")
    assert fields["trigger_id"] in driver.state.triggers


async def test_response_url_posts_land_in_state(driver: SlackDriver, receiver: Receiver) -> None:
    state = driver.state
    await driver.command("/ops", "status", user="U0ALICE", channel="C0INCIDENTS")
    url = dict(receiver.requests[0].form())["response_url"]
    async with httpx.AsyncClient() as http:
        ephemeral = await http.post(url, json={"text": "only alice sees this"})
        public = await http.post(url, json={"response_type": "in_channel", "text": "all clear"})
        empty = await http.post(url, json={})
    assert (ephemeral.status_code, ephemeral.text) == (200, "ok")
    assert public.status_code == 200 and empty.status_code == 400
    assert [e.text for e in state.ephemerals_for("U0ALICE")] == ["only alice sees this"]
    assert state.ephemerals[0].source == "response_url"
    assert [m.text for m in state.messages("C0INCIDENTS")] == ["all clear"]
    assert [p.response_type for p in state.hook_posts] == ["ephemeral", "in_channel"]


async def test_command_ack_body_is_shown_like_slack(
    driver: SlackDriver, receiver: Receiver
) -> None:
    receiver.reply = lambda _: JSONResponse({"response_type": "in_channel", "text": "On it"})
    await driver.command("/ops", "page", user="U0ALICE", channel="C0GENERAL")
    assert [m.text for m in driver.state.messages("C0GENERAL")] == ["On it"]
    receiver.reply = lambda _: Response("Unknown command", media_type="text/plain")
    await driver.command("/ops", "wat", user="U0ALICE", channel="C0GENERAL")
    receiver.reply = lambda _: Response(status_code=500)
    await driver.command("/ops", "boom", user="U0ALICE", channel="C0GENERAL")
    texts = [e.text for e in driver.state.ephemerals_for("U0ALICE")]
    assert texts == ["Unknown command", '/ops failed with the error "http_service_error"']


async def test_event_envelope_and_redelivery(driver: SlackDriver, receiver: Receiver) -> None:
    event = {"type": "app_home_opened", "user": "U0BOB", "tab": "home", "event_ts": "1.000001"}
    await driver.event(event)
    await driver.event(event)
    first, second = (r.json() for r in receiver.requests)
    assert first["type"] == "event_callback" and first["event"] == event
    assert first["team_id"] == "T0SANDBOX" and first["api_app_id"] == "A0OPSBOT"
    assert first["event_id"].startswith("Ev0") and first["event_id"] != second["event_id"]
    assert first["authorizations"][0] == {
        "enterprise_id": None,
        "team_id": "T0SANDBOX",
        "user_id": "U0OPSBOT",
        "is_bot": True,
        "is_enterprise_install": False,
    }
    assert first["event_context"].startswith("4-")
    assert abs(first["event_time"] - time.time()) < 5
    assert "x-slack-retry-num" not in receiver.requests[0].headers
    await driver.redeliver()
    await driver.redeliver()
    retries = receiver.requests[2:]
    assert [r.json()["event_id"] for r in retries] == [second["event_id"]] * 2
    assert [r.headers["x-slack-retry-num"] for r in retries] == ["1", "2"]
    assert retries[0].headers["x-slack-retry-reason"] == "http_timeout"
    assert driver.last_event_id == second["event_id"]


async def test_explicit_event_id_and_retry_headers(driver: SlackDriver, receiver: Receiver) -> None:
    await driver.event({"type": "app_mention"}, event_id="Ev0FIXED", retry_num=3)
    captured = receiver.requests[0]
    assert captured.json()["event_id"] == "Ev0FIXED"
    assert captured.headers["x-slack-retry-num"] == "3"


async def test_url_verification(driver: SlackDriver, receiver: Receiver) -> None:
    receiver.reply = lambda c: JSONResponse({"challenge": c.json()["challenge"]})
    resp = await driver.url_verification("3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P")
    assert resp.json()["challenge"].startswith("3eZbrw1a")
    assert receiver.requests[0].json()["type"] == "url_verification"


async def test_tampered_requests_are_rejected(driver: SlackDriver, receiver: Receiver) -> None:
    bad_secret = await driver.tampered(secret="nope").command("/ops", "x")
    stale = await driver.tampered(timestamp=int(time.time()) - 600).command("/ops", "x")
    assert (bad_secret.status_code, stale.status_code) == (401, 401)
    assert receiver.rejected == 2 and receiver.requests == []
    assert (await driver.command("/ops", "x")).status_code == 200


async def test_deliveries_record_status_and_lateness(
    driver: SlackDriver, receiver: Receiver
) -> None:
    driver.ack_deadline = 0.0
    await driver.command("/ops", "slow", user="U0ALICE", channel="C0GENERAL")
    assert driver.deliveries[-1].kind == "command" and driver.deliveries[-1].late
    notice = driver.state.ephemerals_for("U0ALICE")[-1]
    assert notice.text == '/ops failed with the error "operation_timeout"'


def _payload(captured: Captured) -> dict:
    return json.loads(dict(captured.form())["payload"])


async def test_block_action_on_bot_message_and_replace_original(
    driver: SlackDriver, receiver: Receiver
) -> None:
    state: SandboxState = driver.state
    blocks = [
        {"type": "section", "text": {"type": "mrkdwn", "text": "SEV2: db down"}},
        {
            "type": "actions",
            "block_id": "incident_actions",
            "elements": [
                {
                    "type": "button",
                    "action_id": "ack",
                    "text": {"type": "plain_text", "text": "Acknowledge"},
                    "value": "inc-7",
                    "style": "primary",
                },
                {
                    "type": "static_select",
                    "action_id": "sev",
                    "placeholder": {"type": "plain_text", "text": "Severity"},
                    "options": [
                        {"text": {"type": "plain_text", "text": "SEV1"}, "value": "1"},
                        {"text": {"type": "plain_text", "text": "SEV2"}, "value": "2"},
                    ],
                },
            ],
        },
    ]
    msg = state.post("C0INCIDENTS", state.bot_user_id, "SEV2", blocks=blocks)
    await driver.block_action("U0CAROL", "ack", channel="C0INCIDENTS", message_ts=msg.ts)
    await driver.block_action("U0CAROL", "sev", "1", channel="C0INCIDENTS", message_ts=msg.ts)
    button, select = (_payload(r) for r in receiver.requests)
    assert button["type"] == "block_actions"
    assert button["user"] == {
        "id": "U0CAROL",
        "username": "carol",
        "name": "carol",
        "team_id": "T0SANDBOX",
    }
    assert button["container"] == {
        "type": "message",
        "message_ts": msg.ts,
        "channel_id": "C0INCIDENTS",
        "is_ephemeral": False,
    }
    assert button["channel"] == {"id": "C0INCIDENTS", "name": "incidents"}
    assert button["message"]["blocks"] == blocks
    action = button["actions"][0]
    assert (action["type"], action["block_id"], action["value"]) == (
        "button",
        "incident_actions",
        "inc-7",
    )
    assert action["text"]["text"] == "Acknowledge" and action["style"] == "primary"
    assert select["actions"][0]["selected_option"]["text"]["text"] == "SEV1"
    async with httpx.AsyncClient() as http:
        await http.post(button["response_url"], json={"replace_original": True, "text": "Acked"})
    assert (msg.text, msg.blocks) == ("Acked", None)
    async with httpx.AsyncClient() as http:
        await http.post(button["response_url"], json={"delete_original": True})
    assert state.message("C0INCIDENTS", msg.ts) is None


async def test_view_submission_uses_open_modal_and_applies_response_action(
    driver: SlackDriver, receiver: Receiver
) -> None:
    from slack_sdk.web.async_client import AsyncWebClient

    state = driver.state
    client = AsyncWebClient(token="xoxb-test", base_url=f"{driver.sandbox_base}/api/")
    modal = {
        "type": "modal",
        "callback_id": "declare",
        "private_metadata": "meta-1",
        "title": {"type": "plain_text", "text": "Declare"},
        "blocks": [],
    }
    opened = await client.views_open(trigger_id=state.new_trigger("U0ALICE"), view=modal)
    view_id = opened["view"]["id"]
    values = {"title": {"value": {"type": "plain_text_input", "value": "DB down"}}}
    receiver.reply = lambda _: JSONResponse(
        {"response_action": "errors", "errors": {"title": "Too vague"}}
    )
    await driver.view_submission("U0ALICE", "declare", values)
    payload = _payload(receiver.requests[0])
    assert payload["type"] == "view_submission" and payload["view"]["id"] == view_id
    assert payload["view"]["state"] == {"values": values}
    assert payload["view"]["private_metadata"] == "meta-1"
    assert state.views[view_id].errors == {"title": "Too vague"} and not state.views[view_id].closed
    receiver.reply = lambda _: Response(status_code=200)
    await driver.view_submission("U0ALICE", "declare", values)
    assert state.views[view_id].closed


async def test_shortcut_payloads(driver: SlackDriver, receiver: Receiver) -> None:
    msg = driver.state.post("C0GENERAL", "U0BOB", "deploy failed")
    await driver.message_shortcut("U0ALICE", "make_incident", "C0GENERAL", msg.ts)
    await driver.global_shortcut("U0ALICE", "new_incident")
    message_action, shortcut = (_payload(r) for r in receiver.requests)
    assert message_action["type"] == "message_action"
    assert message_action["callback_id"] == "make_incident"
    assert message_action["message"]["text"] == "deploy failed"
    assert message_action["message_ts"] == msg.ts and message_action["response_url"]
    assert shortcut["type"] == "shortcut" and shortcut["callback_id"] == "new_incident"
    assert shortcut["trigger_id"] in driver.state.triggers
