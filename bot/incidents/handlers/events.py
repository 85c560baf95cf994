"""Timeline from Slack events: a reaction or a pin in an incident channel adds the message.

These listeners run from the event inbox worker (already deduplicated by event_id) and hand the
message to `workflows/timeline.py`; the unique (incident, message ts) entry and the unique marks
make a redelivered or repeated event harmless.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from bot.incidents.service.state import Options
from bot.incidents.workflows.timeline import TimelineEvents

if TYPE_CHECKING:
    from bot.feature import FeatureContext

PIN = "pin"


def reaction_marker(user: str) -> str:
    return f"reaction:{user}"


def _bot_user(rt: FeatureContext, body: dict[str, Any]) -> str | None:
    if rt.identity.known is not None:
        return rt.identity.known.user_id
    authorizations = body.get("authorizations") or [{}]
    user_id: str | None = authorizations[0].get("user_id")
    return user_id


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
