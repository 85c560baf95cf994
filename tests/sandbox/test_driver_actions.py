from __future__ import annotations

import pytest
from slack_sdk.web.async_client import AsyncWebClient

from bot.sandbox import SlackDriver
from tests.sandbox.conftest import Receiver


def _events(receiver: Receiver) -> list[dict]:
    return [r.json()["event"] for r in receiver.requests]


async def test_user_message_stores_then_emits_message(
    driver: SlackDriver, receiver: Receiver
) -> None:
    ts = await driver.user_message("C0GENERAL", "U0BOB", "is CI red?")
    stored = driver.state.messages("C0GENERAL")
    assert [(m.ts, m.user, m.text) for m in stored] == [(ts, "U0BOB", "is CI red?")]
    (event,) = _events(receiver)
    assert event["type"] == "message" and event["channel_type"] == "channel"
    assert (event["ts"], event["user"], event["text"]) == (ts, "U0BOB", "is CI red?")
    assert event["blocks"][0]["type"] == "rich_text"


async def test_mention_also_emits_app_mention(driver: SlackDriver, receiver: Receiver) -> None:
    parent = await driver.user_message("C0INCIDENTS", "U0ALICE", "outage")
    ts = await driver.user_message("C0INCIDENTS", "U0BOB", "<@U0OPSBOT> status", parent)
    message, mention = _events(receiver)[1:]
    assert message["type"] == "message" and message["thread_ts"] == parent
    assert message["parent_user_id"] == "U0ALICE"
    assert mention["type"] == "app_mention" and mention["ts"] == ts
    assert mention["thread_ts"] == parent
    assert driver.state.message("C0INCIDENTS", parent).reply_count == 1  # type: ignore[union-attr]


async def test_no_event_where_bot_is_absent(driver: SlackDriver, receiver: Receiver) -> None:
    ts = await driver.user_message("C0RANDOM", "U0BOB", "<@U0OPSBOT> hello?")
    assert driver.state.message("C0RANDOM", ts) is not None
    assert receiver.requests == []
    with pytest.raises(ValueError):
        await driver.user_message("C0CIALERTS", "U0ERIN", "not a member")


async def test_dm_to_bot(driver: SlackDriver, receiver: Receiver) -> None:
    dm = driver.dm("U0DAVE")
    await driver.user_message(dm, "U0DAVE", "help")
    (event,) = _events(receiver)
    assert event["channel"] == dm and event["channel_type"] == "im"


async def test_edit_and_delete_events(driver: SlackDriver, receiver: Receiver) -> None:
    ts = await driver.user_message("C0GENERAL", "U0BOB", "typo")
    await driver.user_edit("C0GENERAL", ts, "fixed")
    await driver.user_delete("C0GENERAL", ts)
    _, changed, deleted = _events(receiver)
    assert changed["subtype"] == "message_changed" and changed["hidden"] is True
    assert changed["message"]["text"] == "fixed" and changed["message"]["ts"] == ts
    assert changed["message"]["edited"]["user"] == "U0BOB"
    assert changed["previous_message"]["text"] == "typo"
    assert deleted["subtype"] == "message_deleted" and deleted["deleted_ts"] == ts
    assert driver.state.message("C0GENERAL", ts) is None


async def test_reaction_and_pin_events(driver: SlackDriver, receiver: Receiver) -> None:
    msg = driver.state.post("C0INCIDENTS", driver.state.bot_user_id, "Incident #7")
    await driver.user_react("C0INCIDENTS", msg.ts, "U0CAROL", "eyes")
    await driver.user_unreact("C0INCIDENTS", msg.ts, "U0CAROL", "eyes")
    await driver.user_pin("C0INCIDENTS", msg.ts, "U0ALICE")
    await driver.user_unpin("C0INCIDENTS", msg.ts, "U0ALICE")
    added, removed, pinned, unpinned = _events(receiver)
    assert added == {
        "type": "reaction_added",
        "user": "U0CAROL",
        "reaction": "eyes",
        "item_user": "U0OPSBOT",
        "item": {"type": "message", "channel": "C0INCIDENTS", "ts": msg.ts},
        "event_ts": added["event_ts"],
    }
    assert removed["type"] == "reaction_removed" and msg.reactions == {}
    assert pinned["type"] == "pin_added" and pinned["channel_id"] == "C0INCIDENTS"
    assert pinned["item"]["message"]["ts"] == msg.ts and pinned["pin_count"] == 1
    assert unpinned["type"] == "pin_removed" and unpinned["has_pins"] is False


async def test_app_home_opened_includes_published_view(
    driver: SlackDriver, receiver: Receiver
) -> None:
    client = AsyncWebClient(token="xoxb-test", base_url=f"{driver.sandbox_base}/api/")
    home = {"type": "home", "blocks": [{"type": "divider"}]}
    published = await client.views_publish(user_id="U0ERIN", view=home)
    await driver.app_home_opened("U0ERIN")
    await driver.app_home_opened("U0DAVE")
    with_view, without = _events(receiver)
    assert with_view["type"] == "app_home_opened" and with_view["tab"] == "home"
    assert with_view["view"]["id"] == published["view"]["id"]
    assert with_view["channel"].startswith("D") and "view" not in without


async def test_member_joined(driver: SlackDriver, receiver: Receiver) -> None:
    await driver.member_joined("C0CIALERTS", "U0ERIN", inviter="U0ALICE")
    assert "U0ERIN" in driver.state.channels["C0CIALERTS"].members
    (event,) = _events(receiver)
    assert event == {
        "type": "member_joined_channel",
        "user": "U0ERIN",
        "channel": "C0CIALERTS",
        "channel_type": "C",
        "team": "T0SANDBOX",
        "event_ts": event["event_ts"],
        "inviter": "U0ALICE",
    }
    await driver.member_joined("C0RANDOM", "U0OPSBOT")
    assert driver.state.bot_is_member("C0RANDOM") and len(receiver.requests) == 2
