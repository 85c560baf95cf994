"""Durable tasks of standups: reading time zones and user groups from Slack, joining channels.

Each is idempotent: reading again and storing the same zone or membership changes nothing.
"""

from __future__ import annotations

import logging
from typing import Any

from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.core.channels import slack_error_code
from bot.core.db import transaction
from bot.standups import service

log = logging.getLogger(__name__)
# Answers that no retry will change: give up quietly instead of retrying for hours.
GIVE_UP = {
    "user_not_found",
    "channel_not_found",
    "is_archived",
    "method_not_supported_for_channel_type",
    "no_such_subteam",
    "missing_scope",
    "not_allowed_token_type",
}


async def group_members(client: AsyncWebClient, group: str) -> list[str]:
    response = await client.api_call("usergroups.users.list", data={"usergroup": group})
    return [str(user) for user in response.get("users") or []]


class StandupJobs:
    def __init__(self, sessions: async_sessionmaker[AsyncSession], client: AsyncWebClient) -> None:
        self.sessions = sessions
        self.client = client

    async def fetch_tz(self, payload: dict[str, Any]) -> None:
        user = str(payload["user"])
        try:
            response = await self.client.users_info(user=user)
        except SlackApiError as error:
            if slack_error_code(error) in GIVE_UP:
                log.warning("standups: no time zone for %s: %s", user, slack_error_code(error))
                return
            raise
        tz = str((response.get("user") or {}).get("tz") or "UTC")
        async with transaction(self.sessions) as session:
            await service.store_timezone(session, user, tz)

    async def sync_group(self, payload: dict[str, Any]) -> None:
        standup_id, group = int(payload["standup"]), str(payload["group"])
        try:
            members = await group_members(self.client, group)
        except SlackApiError as error:
            if slack_error_code(error) in GIVE_UP:
                log.warning("standups: cannot read group %s: %s", group, slack_error_code(error))
                return
            raise
        async with transaction(self.sessions) as session:
            await service.sync_group(session, standup_id, members)

    async def join_channel(self, payload: dict[str, Any]) -> None:
        """The digest needs the bot in its channel; private channels need an invite instead."""
        try:
            await self.client.conversations_join(channel=str(payload["channel"]))
        except SlackApiError as error:
            if slack_error_code(error) not in GIVE_UP:
                raise
            log.info("standups: not joining %s: %s", payload["channel"], slack_error_code(error))
