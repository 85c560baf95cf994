from __future__ import annotations

import pytest
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.sandbox import SandboxState


async def _error(call: object) -> str:
    with pytest.raises(SlackApiError) as info:
        await call  # type: ignore[misc]
    return str(info.value.response["error"])


async def test_pins(client: AsyncWebClient, state: SandboxState) -> None:
    msg = state.post("C0INCIDENTS", "U0ALICE", "status page")
    await client.pins_add(channel="C0INCIDENTS", timestamp=msg.ts)
    assert msg.pinned_by == "U0OPSBOT"
    pinned_again = client.pins_add(channel="C0INCIDENTS", timestamp=msg.ts)
    assert await _error(pinned_again) == "already_pinned"
    missing = client.pins_add(channel="C0INCIDENTS", timestamp="1.000001")
    assert await _error(missing) == "message_not_found"
    listed = await client.pins_list(channel="C0INCIDENTS")
    assert [i["message"]["text"] for i in listed["items"]] == ["status page"]
    assert listed["items"][0]["message"]["pinned_to"] == ["C0INCIDENTS"]
    history = await client.conversations_history(channel="C0INCIDENTS")
    assert history["pin_count"] == 1
    await client.pins_remove(channel="C0INCIDENTS", timestamp=msg.ts)
    assert not msg.pinned
    unpinned = client.pins_remove(channel="C0INCIDENTS", timestamp=msg.ts)
    assert await _error(unpinned) == "no_pin"


async def test_reactions(client: AsyncWebClient, state: SandboxState) -> None:
    msg = state.post("C0GENERAL", "U0ALICE", "deploy done")
    state.react("C0GENERAL", msg.ts, "U0BOB", "tada")
    await client.reactions_add(channel="C0GENERAL", timestamp=msg.ts, name="tada")
    assert msg.reactions == {"tada": ["U0BOB", "U0OPSBOT"]}
    twice = client.reactions_add(channel="C0GENERAL", timestamp=msg.ts, name="tada")
    assert await _error(twice) == "already_reacted"
    bad = client.reactions_add(channel="C0GENERAL", timestamp=msg.ts, name="not an emoji!")
    assert await _error(bad) == "invalid_name"
    got = await client.reactions_get(channel="C0GENERAL", timestamp=msg.ts)
    assert got["message"]["reactions"] == [
        {"name": "tada", "users": ["U0BOB", "U0OPSBOT"], "count": 2}
    ]
    await client.reactions_remove(channel="C0GENERAL", timestamp=msg.ts, name="tada")
    assert msg.reactions == {"tada": ["U0BOB"]}
    gone = client.reactions_remove(channel="C0GENERAL", timestamp=msg.ts, name="tada")
    assert await _error(gone) == "no_reaction"


async def test_users_info_and_lookup(client: AsyncWebClient) -> None:
    info = await client.users_info(user="U0BOB")
    user = info["user"]
    assert (user["name"], user["tz"], user["profile"]["email"]) == (
        "bob",
        "America/Los_Angeles",
        "bob@example.com",
    )
    assert user["tz_offset"] in (-8 * 3600, -7 * 3600)
    assert await _error(client.users_info(user="U0GHOST")) == "user_not_found"
    found = await client.users_lookupByEmail(email="carol@example.com")
    assert found["user"]["id"] == "U0CAROL"
    missing = client.users_lookupByEmail(email="nobody@example.com")
    assert await _error(missing) == "users_not_found"


async def test_users_list_pages(client: AsyncWebClient, state: SandboxState) -> None:
    seen: list[str] = []
    cursor = None
    while True:
        resp = await client.users_list(limit=2, cursor=cursor)
        seen += [m["id"] for m in resp["members"]]
        cursor = resp["response_metadata"]["next_cursor"] or None
        if cursor is None:
            break
    assert seen == list(state.users)


async def test_profile_presence_and_bot_identity(client: AsyncWebClient) -> None:
    profile = await client.users_profile_get(user="U0DAVE")
    assert profile["profile"]["real_name"] == "Dave Singh"
    own = await client.users_profile_get()
    assert own["profile"]["bot_id"] == "B0OPSBOT" and "email" not in own["profile"]
    presence = await client.users_getPresence(user="U0DAVE")
    assert presence["presence"] == "active"
    bot = await client.bots_info(bot="B0OPSBOT")
    assert bot["bot"]["user_id"] == "U0OPSBOT"
    assert await _error(client.bots_info(bot="B0OTHER")) == "bot_not_found"
    team = await client.team_info()
    assert team["team"]["id"] == "T0SANDBOX"


async def test_usergroups(client: AsyncWebClient) -> None:
    groups = await client.usergroups_list(include_users=True)
    oncall = next(g for g in groups["usergroups"] if g["handle"] == "oncall")
    assert oncall["users"] == ["U0ALICE", "U0BOB"] and oncall["user_count"] == 2
    members = await client.usergroups_users_list(usergroup="S0SRE")
    assert members["users"] == ["U0CAROL", "U0DAVE", "U0ERIN"]
    unknown = client.usergroups_users_list(usergroup="S0NOPE")
    assert await _error(unknown) == "no_such_subteam"
