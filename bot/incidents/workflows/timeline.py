"""Timeline from Slack events: a reacted or pinned message in an incident channel is fetched
from Slack and added to the timeline (the listeners are `handlers/events.py`).

These steps run from the event inbox worker (already deduplicated by event_id); the unique
(incident, message ts) entry and the unique marks make a redelivered or repeated event harmless.
"""

from __future__ import annotations

import datetime as dt
import logging
from typing import TYPE_CHECKING, Any

from slack_sdk.web.async_client import AsyncWebClient

from bot.core.db import transaction
from bot.incidents.service import timeline as marks
from bot.incidents.service.access import for_channel

if TYPE_CHECKING:
    from bot.feature import FeatureContext

log = logging.getLogger(__name__)


def ts_time(ts: str) -> dt.datetime:
    return dt.datetime.fromtimestamp(float(ts), dt.UTC)


async def fetch_message(client: AsyncWebClient, channel: str, ts: str) -> dict[str, Any] | None:
    """The message at `ts`, top level or in a thread (the event carries only its address)."""
    history = await client.conversations_history(
        channel=channel, oldest=ts, latest=ts, inclusive=True, limit=1
    )
    messages: list[dict[str, Any]] = history.get("messages", [])
    for message in messages:
        if message.get("ts") == ts:
            return dict(message)
    # Replies come after their thread's parent, which Slack always returns first.
    replies = await client.conversations_replies(
        channel=channel, ts=ts, oldest=ts, latest=ts, inclusive=True, limit=10
    )
    messages = replies.get("messages", [])
    for message in messages:
        if message.get("ts") == ts:
            return dict(message)
    return None


class TimelineEvents:
    def __init__(self, rt: FeatureContext) -> None:
        self.rt = rt

    async def _incident_id(self, channel: str | None) -> int | None:
        async with self.rt.sessions() as session:
            incident = await for_channel(session, channel)
            return incident.id if incident is not None else None

    async def add(
        self, channel: str, ts: str, marker: str, message: dict[str, Any] | None = None
    ) -> None:
        incident_id = await self._incident_id(channel)
        if incident_id is None:
            return
        message = message or await fetch_message(self.rt.client, channel, ts)
        if message is None:
            log.info("incidents: message %s in %s is gone; not added", ts, channel)
            return
        async with transaction(self.rt.sessions) as session:
            await marks.mark_message(
                session,
                incident_id,
                ts,
                marker,
                author=message.get("user") or message.get("bot_id"),
                text=str(message.get("text") or ""),
                occurred_at=ts_time(ts),
            )

    async def remove(self, channel: str, ts: str, marker: str) -> None:
        incident_id = await self._incident_id(channel)
        if incident_id is None:
            return
        async with transaction(self.rt.sessions) as session:
            await marks.unmark_message(session, incident_id, ts, marker)
