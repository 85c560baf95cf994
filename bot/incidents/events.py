"""Timeline from Slack events: a reaction or a pin in an incident channel adds the message.

These listeners run from the event inbox worker (already deduplicated by event_id); the unique
(incident, message ts) entry and the unique marks make a redelivered or repeated event harmless.
"""

from __future__ import annotations

import datetime as dt
import logging
from typing import TYPE_CHECKING, Any

from slack_sdk.web.async_client import AsyncWebClient

from bot.core.db import transaction
from bot.incidents import timeline as marks
from bot.incidents.access import for_channel
from bot.incidents.state import Options

if TYPE_CHECKING:
    from bot.feature import FeatureContext

log = logging.getLogger(__name__)
PIN = "pin"


def ts_time(ts: str) -> dt.datetime:
    return dt.datetime.fromtimestamp(float(ts), dt.UTC)


def reaction_marker(user: str) -> str:
    return f"reaction:{user}"


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


def _bot_user(rt: FeatureContext, body: dict[str, Any]) -> str | None:
    if rt.identity.known is not None:
        return rt.identity.known.user_id
    authorizations = body.get("authorizations") or [{}]
    user_id: str | None = authorizations[0].get("user_id")
    return user_id


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


def register_events(rt: FeatureContext, opts: Options) -> None:
    timeline = TimelineEvents(rt)

    def _reaction_target(event: dict[str, Any]) -> tuple[str, str] | None:
        item = event.get("item") or {}
        if event.get("reaction") != opts.timeline_reaction or item.get("type") != "message":
            return None
        return str(item.get("channel")), str(item.get("ts"))

    # Reactions and pins are shared with other features: subscribe through the fan-out.
    @rt.events.subscribe("reaction_added")
    async def reaction_added(event: dict[str, Any], _body: dict[str, Any]) -> None:
        target = _reaction_target(event)
        if target:
            await timeline.add(*target, reaction_marker(str(event.get("user"))))

    @rt.events.subscribe("reaction_removed")
    async def reaction_removed(event: dict[str, Any], _body: dict[str, Any]) -> None:
        target = _reaction_target(event)
        if target:
            await timeline.remove(*target, reaction_marker(str(event.get("user"))))

    def _pin_target(
        event: dict[str, Any], body: dict[str, Any]
    ) -> tuple[str, str, dict[str, Any] | None] | None:
        item = event.get("item") or {}
        # The bot pins its own incident card; that is not a timeline moment.
        if item.get("type") != "message" or event.get("user") == _bot_user(rt, body):
            return None
        message = item.get("message") or {}
        channel = event.get("channel_id") or item.get("channel")
        ts = message.get("ts") or item.get("ts")
        if not channel or not ts:
            return None
        return str(channel), str(ts), (dict(message) if message.get("ts") else None)

    @rt.events.subscribe("pin_added")
    async def pin_added(event: dict[str, Any], body: dict[str, Any]) -> None:
        target = _pin_target(event, body)
        if target:
            channel, ts, message = target
            await timeline.add(channel, ts, PIN, message)

    @rt.events.subscribe("pin_removed")
    async def pin_removed(event: dict[str, Any], body: dict[str, Any]) -> None:
        target = _pin_target(event, body)
        if target:
            await timeline.remove(target[0], target[1], PIN)
