from __future__ import annotations

import pytest
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.sandbox import SandboxState


async def _error(call: object) -> str:
    with pytest.raises(SlackApiError) as info:
        await call  # type: ignore[misc]
    return str(info.value.response["error"])


async def test_create_joins_bot_and_reports_channel(
    client: AsyncWebClient, state: SandboxState
) -> None:
    resp = await client.conversations_create(name="inc-42-db-down", is_private=True)
    channel = resp["channel"]
    assert channel["id"].startswith("C0") and channel["name"] == "inc-42-db-down"
    assert channel["is_private"] is True and channel["is_member"] is True
    assert state.channels[channel["id"]].members == {"U0OPSBOT"}
    posted = await client.chat_postMessage(channel=channel["id"], text="war room")
    assert posted["ok"]


@pytest.mark.parametrize(
    ("name", "error"),
    [
        ("general", "name_taken"),
        ("Has-Caps", "invalid_name_specials"),
        ("with space", "invalid_name_specials"),
        ("x" * 81, "invalid_name_maxlength"),
        ("", "invalid_name_required"),
        ("---", "invalid_name_punctuation"),
    ],
)
async def test_create_name_rules(
    client: AsyncWebClient, state: SandboxState, name: str, error: str
) -> None:
    before = set(state.channels)
    assert await _error(client.conversations_create(name=name)) == error
    assert set(state.channels) == before


async def test_info_and_num_members(client: AsyncWebClient) -> None:
    info = await client.conversations_info(channel="C0CIALERTS", include_num_members=True)
    assert info["channel"]["name"] == "ci-alerts" and info["channel"]["num_members"] == 4
    assert await _error(client.conversations_info(channel="C0LEADERS")) == "channel_not_found"
    outside = await client.conversations_info(channel="C0RANDOM")
    assert outside["channel"]["is_member"] is False


async def test_list_paginates_with_cursor(client: AsyncWebClient, state: SandboxState) -> None:
    for i in range(7):
        state.add_channel(f"extra-{i}", [state.bot_user_id])
    names: list[str] = []
    cursor = ""
    pages = 0
    while True:
        resp = await client.conversations_list(limit=4, cursor=cursor or None)
        names += [c["name"] for c in resp["channels"]]
        pages += 1
        cursor = resp["response_metadata"]["next_cursor"]
        if not cursor:
            break
    public = [c.name for c in state.channels.values() if not c.is_private and not c.is_im]
    assert names == public and pages == 3
    assert "leadership" not in names


async def test_list_types_and_bad_cursor(client: AsyncWebClient, state: SandboxState) -> None:
    dm = state.open_im("U0BOB")
    resp = await client.conversations_list(types="private_channel,im")
    assert [c["id"] for c in resp["channels"]] == [dm]
    state.channels["C0LEADERS"].members.add(state.bot_user_id)
    resp = await client.conversations_list(types="private_channel")
    assert [c["id"] for c in resp["channels"]] == ["C0LEADERS"]
    assert await _error(client.conversations_list(cursor="garbage!")) == "invalid_cursor"


async def test_history_newest_first_with_pagination_and_range(
    client: AsyncWebClient, state: SandboxState
) -> None:
    posted = [state.post("C0GENERAL", "U0ALICE", f"m{i}") for i in range(5)]
    first = await client.conversations_history(channel="C0GENERAL", limit=2)
    assert [m["text"] for m in first["messages"]] == ["m4", "m3"] and first["has_more"] is True
    cursor = first["response_metadata"]["next_cursor"]
    second = await client.conversations_history(channel="C0GENERAL", limit=2, cursor=cursor)
    assert [m["text"] for m in second["messages"]] == ["m2", "m1"]
    window = await client.conversations_history(
        channel="C0GENERAL", oldest=posted[1].ts, latest=posted[3].ts
    )
    assert [m["text"] for m in window["messages"]] == ["m2"]
    inclusive = await client.conversations_history(
        channel="C0GENERAL", oldest=posted[1].ts, latest=posted[3].ts, inclusive=True
    )
    assert [m["text"] for m in inclusive["messages"]] == ["m3", "m2", "m1"]
    last = await client.conversations_history(channel="C0GENERAL", limit=10)
    assert last["has_more"] is False and last["response_metadata"]["next_cursor"] == ""


async def test_history_requires_membership(client: AsyncWebClient) -> None:
    assert await _error(client.conversations_history(channel="C0RANDOM")) == "not_in_channel"
    assert await _error(client.conversations_history(channel="C0LEADERS")) == "channel_not_found"


async def test_replies_pagination_and_missing_thread(
    client: AsyncWebClient, state: SandboxState
) -> None:
    parent = state.post("C0GENERAL", "U0ALICE", "root")
    for i in range(4):
        state.post("C0GENERAL", "U0BOB", f"r{i}", thread_ts=parent.ts)
    page1 = await client.conversations_replies(channel="C0GENERAL", ts=parent.ts, limit=3)
    assert [m["text"] for m in page1["messages"]] == ["root", "r0", "r1"] and page1["has_more"]
    cursor = page1["response_metadata"]["next_cursor"]
    page2 = await client.conversations_replies(channel="C0GENERAL", ts=parent.ts, cursor=cursor)
    assert [m["text"] for m in page2["messages"]] == ["r2", "r3"] and not page2["has_more"]
    missing = client.conversations_replies(channel="C0GENERAL", ts="1.000001")
    assert await _error(missing) == "thread_not_found"


async def test_members(client: AsyncWebClient) -> None:
    resp = await client.conversations_members(channel="C0CIALERTS")
    assert sorted(resp["members"]) == ["U0ALICE", "U0BOB", "U0DAVE", "U0OPSBOT"]


async def test_invite_with_comma_separated_users_and_errors(
    client: AsyncWebClient, state: SandboxState
) -> None:
    resp = await client.conversations_invite(channel="C0CIALERTS", users=["U0CAROL", "U0ERIN"])
    assert resp["channel"]["id"] == "C0CIALERTS"
    assert {"U0CAROL", "U0ERIN"} <= state.channels["C0CIALERTS"].members
    assert state.calls_to("conversations.invite")[0].args["users"] == "U0CAROL,U0ERIN"
    members_before = set(state.channels["C0CIALERTS"].members)
    cases = {
        "U0CAROL": "already_in_channel",
        "U0GHOST": "user_not_found",
        "U0OPSBOT": "cant_invite_self",
    }
    for user, error in cases.items():
        assert await _error(client.conversations_invite(channel="C0CIALERTS", users=user)) == error
    assert state.channels["C0CIALERTS"].members == members_before
    random_invite = client.conversations_invite(channel="C0RANDOM", users="U0BOB")
    assert await _error(random_invite) == "not_in_channel"


async def test_join_leave_kick(client: AsyncWebClient, state: SandboxState) -> None:
    await client.conversations_join(channel="C0RANDOM")
    assert state.bot_is_member("C0RANDOM")
    again = await client.conversations_join(channel="C0RANDOM")
    assert again["warning"] == "already_in_channel"
    await client.conversations_kick(channel="C0RANDOM", user="U0BOB")
    assert "U0BOB" not in state.channels["C0RANDOM"].members
    kick_again = client.conversations_kick(channel="C0RANDOM", user="U0BOB")
    assert await _error(kick_again) == "not_in_channel"
    await client.conversations_leave(channel="C0RANDOM")
    assert not state.bot_is_member("C0RANDOM")
    left = await client.conversations_leave(channel="C0RANDOM")
    assert left["not_in_channel"] is True
    assert await _error(client.conversations_leave(channel="C0GENERAL")) == "cant_leave_general"
    private_join = client.conversations_join(channel="C0LEADERS")
    assert await _error(private_join) == "channel_not_found"


async def test_open_dm_and_mpim(client: AsyncWebClient, state: SandboxState) -> None:
    first = await client.conversations_open(users="U0CAROL")
    dm = first["channel"]["id"]
    assert dm.startswith("D") and "already_open" not in first
    second = await client.conversations_open(users=["U0CAROL"])
    assert second["channel"]["id"] == dm and second["already_open"] is True
    group = await client.conversations_open(users=["U0CAROL", "U0DAVE"])
    assert group["channel"]["is_mpim"] is True
    assert await _error(client.conversations_open(users="U0GHOST")) == "user_not_found"


async def test_topic_purpose_archive_rename(client: AsyncWebClient, state: SandboxState) -> None:
    topic = await client.conversations_setTopic(channel="C0INCIDENTS", topic="SEV2 ongoing")
    assert topic["channel"]["topic"]["value"] == "SEV2 ongoing"
    too_long = client.conversations_setTopic(channel="C0INCIDENTS", topic="x" * 251)
    assert await _error(too_long) == "too_long"
    assert state.channels["C0INCIDENTS"].topic == "SEV2 ongoing"
    purpose = await client.conversations_setPurpose(channel="C0INCIDENTS", purpose="Fires")
    assert purpose["channel"]["purpose"]["value"] == "Fires"
    renamed = await client.conversations_rename(channel="C0INCIDENTS", name="incidents-2024")
    assert renamed["channel"]["previous_names"] == ["incidents"]
    clash = client.conversations_rename(channel="C0INCIDENTS", name="general")
    assert await _error(clash) == "name_taken"
    await client.conversations_archive(channel="C0INCIDENTS")
    assert state.channels["C0INCIDENTS"].archived
    archived_again = client.conversations_archive(channel="C0INCIDENTS")
    assert await _error(archived_again) == "already_archived"
    archived_post = client.chat_postMessage(channel="C0INCIDENTS", text="x")
    assert await _error(archived_post) == "is_archived"
    assert await _error(client.conversations_archive(channel="C0GENERAL")) == "cant_archive_general"
