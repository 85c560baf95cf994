"""What the feature reads from Slack: the thread, people's names, and who may instruct."""

from __future__ import annotations

import logging
import time
from collections.abc import Iterable
from typing import Any

from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.agents.service.context import ThreadMessage
from bot.agents.settings import SECTION as AGENTS
from bot.config import Settings

log = logging.getLogger(__name__)
MAX_PAGES = 20
GROUP_TTL = 300.0


async def read_thread(client: AsyncWebClient, channel: str, thread_ts: str) -> list[ThreadMessage]:
    """The whole thread, oldest first (bounded to MAX_PAGES pages of 200)."""
    messages: list[ThreadMessage] = []
    cursor: str | None = None
    for _ in range(MAX_PAGES):
        response = await client.conversations_replies(
            channel=channel, ts=thread_ts, limit=200, cursor=cursor
        )
        messages += [_message(raw) for raw in response.get("messages") or []]
        cursor = (response.get("response_metadata") or {}).get("next_cursor") or None
        if not cursor:
            break
    return messages


def _message(raw: dict[str, Any]) -> ThreadMessage:
    is_bot = bool(raw.get("bot_id")) or raw.get("subtype") == "bot_message"
    bot_name = (raw.get("bot_profile") or {}).get("name") or raw.get("username")
    return ThreadMessage(
        ts=str(raw.get("ts")),
        user=raw.get("user"),
        text=str(raw.get("text") or ""),
        is_bot=is_bot,
        bot_name=str(bot_name) if bot_name else None,
    )


async def resolve_names(client: AsyncWebClient, users: Iterable[str]) -> dict[str, str]:
    """Display names for user ids; an id that cannot be resolved stays an id."""
    names: dict[str, str] = {}
    for user in sorted(set(users)):
        try:
            response = await client.users_info(user=user)
        except SlackApiError as error:
            log.info("agents: users.info %s failed: %s", user, error.response.get("error"))
            continue
        data = response.get("user") or {}
        profile = data.get("profile") or {}
        names[user] = (
            profile.get("display_name") or data.get("real_name") or data.get("name") or user
        )
    return names


class Access:
    """Who may start tasks and who counts as instructing (users and user groups, cached)."""

    def __init__(self, client: AsyncWebClient, settings: Settings) -> None:
        self.client = client
        self.settings = settings
        self._groups: dict[str, tuple[float, frozenset[str]]] = {}

    @property
    def admins(self) -> list[str]:
        return list(self.settings.here().admins)

    async def allowed(self) -> frozenset[str] | None:
        """Allowed user ids, or None when everyone is allowed."""
        entries = self.settings.section(AGENTS).allowed_users
        if not entries:
            return None
        users = {entry for entry in entries if not entry.startswith("S")}
        for group in (entry for entry in entries if entry.startswith("S")):
            users |= await self._members(group)
        return frozenset(users)

    async def _members(self, group: str) -> frozenset[str]:
        cached = self._groups.get(group)
        if cached and time.monotonic() - cached[0] < GROUP_TTL:
            return cached[1]
        try:
            response = await self.client.usergroups_users_list(usergroup=group)
            members = frozenset(response.get("users") or [])
        except SlackApiError as error:
            log.warning("agents: cannot read user group %s: %s", group, error.response.get("error"))
            members = cached[1] if cached else frozenset()
        self._groups[group] = (time.monotonic(), members)
        return members

    async def may_start(self, user: str) -> bool:
        allowed = await self.allowed()
        return allowed is None or user in allowed or user in self.admins

    async def instructing(self, requester: str) -> set[str]:
        """The requester and admins always; others only when the allow-list names them.

        With no allow-list everyone may start a task, but a thread's other voices stay data:
        only people the operator listed can steer an agent someone else started.
        """
        allowed = await self.allowed() or frozenset()
        return {requester, *self.admins, *allowed}
