"""Channels the bot creates for a record (an incident room, a war room), made idempotent.

Creating a channel is not idempotent in Slack: a retry after a lost answer meets `name_taken`
on our own channel. So a taken name is checked: a channel we created that no record holds yet
is ours from the earlier attempt and is adopted; otherwise the next name is tried.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

# Not worth failing an invitation round for: the person is there already, or cannot come.
INVITE_SKIPS = {"already_in_channel", "cant_invite_self", "user_not_found", "user_is_bot"}


def slack_error_code(error: SlackApiError) -> str:
    data = error.response.data
    return str(data.get("error", "")) if isinstance(data, dict) else ""


async def create_channel(
    client: AsyncWebClient,
    name_for: Callable[[int], str],
    *,
    is_private: bool,
    is_bound: Callable[[str], Awaitable[bool]],
    max_attempts: int = 30,
) -> tuple[str, str]:
    """(channel id, name) of a new channel, trying `name_for(1)`, `name_for(2)`, ..."""
    for attempt in range(1, max_attempts + 1):
        name = name_for(attempt)
        try:
            response = await client.conversations_create(name=name, is_private=is_private)
            return str(response["channel"]["id"]), name
        except SlackApiError as error:
            if slack_error_code(error) != "name_taken":
                raise
        adopted = await _our_unbound_channel(client, name, is_bound)
        if adopted:
            return adopted, name
    raise RuntimeError(f"no free channel name after {max_attempts} tries ({name_for(1)})")


async def _our_unbound_channel(
    client: AsyncWebClient, name: str, is_bound: Callable[[str], Awaitable[bool]]
) -> str | None:
    me = str((await client.auth_test())["user_id"])
    cursor: str | None = None
    while True:
        page = await client.conversations_list(
            types="public_channel,private_channel", exclude_archived=True, limit=1000,
            cursor=cursor,
        )  # fmt: skip
        channels: list[dict[str, Any]] = page.get("channels", [])
        for channel in channels:
            if channel.get("name") == name and channel.get("creator") == me:
                return None if await is_bound(str(channel["id"])) else str(channel["id"])
        cursor = (page.get("response_metadata") or {}).get("next_cursor") or None
        if not cursor:
            return None


async def invite_each(client: AsyncWebClient, channel: str, users: list[str]) -> None:
    # One at a time: Slack refuses a whole batch when one of them is already in.
    for user in users:
        try:
            await client.conversations_invite(channel=channel, users=user)
        except SlackApiError as error:
            if slack_error_code(error) not in INVITE_SKIPS:
                raise
