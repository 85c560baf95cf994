"""Who is in a channel and whether it is private, as Slack says, cached for a short while.

Access decisions need channel membership (a private incident's channel, the private channel an
agent task came from, the channel a standup posts to). Slack is the only source of it; asking on
every click would spend the rate budget, so answers are kept for `ttl` seconds. When Slack
cannot answer, the directory errs on the side of hiding: an unknown channel is private and has
no members.
"""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass

from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

log = logging.getLogger(__name__)

MAX_MEMBER_PAGES = 50  # 50 pages of 1,000: channels larger than that are treated as public-size
CALL_SECONDS = 3.0


@dataclass(frozen=True)
class ChannelFacts:
    private: bool
    members: frozenset[str]


_HIDDEN = ChannelFacts(private=True, members=frozenset())


class Directory:
    def __init__(self, client: AsyncWebClient, ttl: float = 60.0) -> None:
        self.client = client
        self.ttl = ttl
        self._cache: dict[str, tuple[float, ChannelFacts]] = {}
        self._inflight: dict[str, asyncio.Task[ChannelFacts]] = {}

    async def facts(self, channel: str) -> ChannelFacts:
        cached = self._cache.get(channel)
        if cached and time.monotonic() - cached[0] < self.ttl:
            return cached[1]
        # Concurrent checks of one channel share one lookup.
        task = self._inflight.get(channel)
        if task is None:
            task = asyncio.ensure_future(self._lookup(channel))
            self._inflight[channel] = task
            task.add_done_callback(lambda _t: self._inflight.pop(channel, None))
        return await task

    def forget(self, channel: str | None = None) -> None:
        """Drop cached answers (all, or one channel's), e.g. after a member_joined_channel."""
        if channel is None:
            self._cache.clear()
        else:
            self._cache.pop(channel, None)

    async def is_private(self, channel: str) -> bool:
        return (await self.facts(channel)).private

    async def is_member(self, channel: str, user: str) -> bool:
        return user in (await self.facts(channel)).members

    async def can_read(self, channel: str, user: str) -> bool:
        """Public channels are readable by anyone in the workspace; others by their members."""
        facts = await self.facts(channel)
        return not facts.private or user in facts.members

    async def _lookup(self, channel: str) -> ChannelFacts:
        try:
            facts = await asyncio.wait_for(self._read(channel), CALL_SECONDS * 2)
        except SlackApiError as error:
            if error.response.get("error") != "channel_not_found":
                return self._stale_or_hidden(channel, error)
            facts = _HIDDEN  # Slack's definitive answer for a private channel we are not in
        except Exception as error:  # timeouts, connection errors: Slack did not answer
            return self._stale_or_hidden(channel, error)
        self._cache[channel] = (time.monotonic(), facts)
        return facts

    def _stale_or_hidden(self, channel: str, error: Exception) -> ChannelFacts:
        log.info("directory: cannot read %s: %r", channel, error)
        stale = self._cache.get(channel)
        # A brief outage keeps the last answer rather than locking everyone out.
        return stale[1] if stale else _HIDDEN

    async def _read(self, channel: str) -> ChannelFacts:
        info = (await self.client.conversations_info(channel=channel)).get("channel") or {}
        private = bool(info.get("is_private") or info.get("is_im") or info.get("is_mpim"))
        members: set[str] = set()
        cursor: str | None = None
        for _ in range(MAX_MEMBER_PAGES):
            page = await self.client.conversations_members(
                channel=channel, limit=1000, cursor=cursor
            )
            members.update(page.get("members") or [])
            cursor = (page.get("response_metadata") or {}).get("next_cursor") or None
            if not cursor:
                break
        return ChannelFacts(private=private, members=frozenset(members))
