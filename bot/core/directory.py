"""Who is in a channel and whether it is private, as Slack says, cached for a short while.

Access decisions need channel membership (a private incident's channel, the private channel an
agent task came from, the channel a standup posts to). Slack is the only source of it; asking on
every click would spend the rate budget, so answers are kept for `ttl` seconds.

Lookups happen while Slack waits for an acknowledgement (3 s at most), so the directory's client
does not retry (build it with `make_client(..., handlers=[])` and a short timeout), a lookup
gives up after `LOOKUP_SECONDS`, and the answer to a failed one is kept for `FAILURE_SECONDS`,
so a slow Slack costs one wait, not one per click.

When Slack cannot answer, the directory errs on the side of hiding: it keeps its last answer,
or says the channel is private with no members, marked `known=False` so a reader that would
rather try again later than leave things out can tell.
"""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass

from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

log = logging.getLogger(__name__)

MAX_MEMBER_PAGES = 10  # pages of 1,000: larger channels are read in part (the time cap binds)
LOOKUP_SECONDS = 1.5
FAILURE_SECONDS = 10.0


@dataclass(frozen=True)
class ChannelFacts:
    private: bool
    members: frozenset[str]
    known: bool = True  # False: Slack did not answer and there was no earlier answer


_NOT_FOUND = ChannelFacts(private=True, members=frozenset())  # a private channel we are not in
_UNKNOWN = ChannelFacts(private=True, members=frozenset(), known=False)


class Directory:
    """Implements `bot.core.access.Membership` by asking Slack."""

    def __init__(self, client: AsyncWebClient, ttl: float = 60.0) -> None:
        self.client = client
        self.ttl = ttl
        self._cache: dict[str, tuple[float, ChannelFacts]] = {}  # channel -> (until, facts)
        self._inflight: dict[str, asyncio.Task[ChannelFacts]] = {}

    async def facts(self, channel: str) -> ChannelFacts:
        cached = self._cache.get(channel)
        if cached and time.monotonic() < cached[0]:
            return cached[1]
        # Concurrent checks of one channel share one lookup.
        task = self._inflight.get(channel)
        if task is None:
            task = asyncio.ensure_future(self._lookup(channel))
            self._inflight[channel] = task
            task.add_done_callback(lambda _t: self._inflight.pop(channel, None))
        # A waiter that is cancelled (its request gave up) leaves the shared lookup running.
        return await asyncio.shield(task)

    def forget(self, channel: str) -> None:
        """Drop a channel's cached answer, so the next question asks Slack again."""
        self._cache.pop(channel, None)

    async def _lookup(self, channel: str) -> ChannelFacts:
        try:
            facts = await asyncio.wait_for(self._read(channel), LOOKUP_SECONDS)
        except SlackApiError as error:
            if error.response.get("error") != "channel_not_found":
                return self._failed(channel, error)
            facts = _NOT_FOUND  # Slack's definitive answer for a private channel we are not in
        except Exception as error:  # timeouts, connection errors: Slack did not answer
            return self._failed(channel, error)
        self._cache[channel] = (time.monotonic() + self.ttl, facts)
        return facts

    def _failed(self, channel: str, error: Exception) -> ChannelFacts:
        log.info("directory: cannot read %s: %r", channel, error)
        stale = self._cache.get(channel)
        # A brief outage keeps the last answer rather than locking everyone out.
        facts = stale[1] if stale else _UNKNOWN
        self._cache[channel] = (time.monotonic() + FAILURE_SECONDS, facts)
        return facts

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
