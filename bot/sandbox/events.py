"""Events API payloads: the `event` objects and the `event_callback` envelope."""

from __future__ import annotations

import base64
import json
import uuid
from typing import TYPE_CHECKING

from .models import Channel, JsonDict, Message
from .payloads import VERIFICATION_TOKEN
from .serialize import message_json, view_json

if TYPE_CHECKING:
    from .state import SandboxState


def channel_type(channel: Channel | None) -> str:
    if channel is None:
        return "channel"
    if channel.is_im:
        return "im"
    if channel.is_mpim:
        return "mpim"
    return "group" if channel.is_private else "channel"


def rich_text(text: str) -> list[JsonDict]:
    """Slack clients attach the typed text as a rich_text block."""
    section = {"type": "rich_text_section", "elements": [{"type": "text", "text": text}]}
    return [{"type": "rich_text", "block_id": uuid.uuid4().hex[:5], "elements": [section]}]


def message_event(state: SandboxState, msg: Message) -> JsonDict:
    event: JsonDict = {
        "type": "message",
        "user": msg.user,
        "text": msg.text,
        "ts": msg.ts,
        "client_msg_id": str(uuid.uuid4()),
        "team": state.team_id,
        "blocks": msg.blocks if msg.blocks is not None else rich_text(msg.text),
        "channel": msg.channel,
        "event_ts": msg.ts,
        "channel_type": channel_type(state.channels.get(msg.channel)),
    }
    if msg.is_reply and msg.thread_ts:
        parent = state.message(msg.channel, msg.thread_ts)
        event["thread_ts"] = msg.thread_ts
        event["parent_user_id"] = parent.user if parent else None
    return event


def app_mention_event(state: SandboxState, msg: Message) -> JsonDict:
    event = message_event(state, msg)
    event["type"] = "app_mention"
    event.pop("channel_type", None)
    event.pop("parent_user_id", None)
    return event


def message_changed_event(
    state: SandboxState, msg: Message, previous: JsonDict, event_ts: str
) -> JsonDict:
    return {
        "type": "message",
        "subtype": "message_changed",
        "message": message_json(state, msg, include_metadata=False),
        "previous_message": previous,
        "channel": msg.channel,
        "hidden": True,
        "ts": event_ts,
        "event_ts": event_ts,
        "channel_type": channel_type(state.channels.get(msg.channel)),
    }


def message_deleted_event(
    state: SandboxState, channel: str, previous: JsonDict, event_ts: str
) -> JsonDict:
    return {
        "type": "message",
        "subtype": "message_deleted",
        "previous_message": previous,
        "channel": channel,
        "hidden": True,
        "deleted_ts": previous["ts"],
        "ts": event_ts,
        "event_ts": event_ts,
        "channel_type": channel_type(state.channels.get(channel)),
    }


def reaction_event(
    state: SandboxState, kind: str, msg: Message, user: str, name: str, event_ts: str
) -> JsonDict:
    return {
        "type": kind,
        "user": user,
        "reaction": name,
        "item_user": msg.user,
        "item": {"type": "message", "channel": msg.channel, "ts": msg.ts},
        "event_ts": event_ts,
    }


def pin_event(state: SandboxState, kind: str, msg: Message, user: str, event_ts: str) -> JsonDict:
    pin_count = sum(1 for m in state.all_messages(msg.channel) if m.pinned)
    event: JsonDict = {
        "type": kind,
        "user": user,
        "channel_id": msg.channel,
        "item": {
            "type": "message",
            "created": msg.pinned_at or int(state.now()),
            "created_by": user,
            "channel": msg.channel,
            "message": message_json(state, msg, include_metadata=False),
        },
        "item_user": msg.user,
        "pin_count": pin_count,
        "event_ts": event_ts,
    }
    if kind == "pin_removed":
        event["has_pins"] = pin_count > 0
    return event


def app_home_opened_event(state: SandboxState, user: str, event_ts: str) -> JsonDict:
    event: JsonDict = {
        "type": "app_home_opened",
        "user": user,
        "channel": state.open_im(user),
        "tab": "home",
        "event_ts": event_ts,
    }
    home = state.home_views.get(user)
    if home is not None:
        event["view"] = view_json(state, home)
    return event


def member_joined_event(
    state: SandboxState, channel: Channel, user: str, event_ts: str, inviter: str | None
) -> JsonDict:
    event: JsonDict = {
        "type": "member_joined_channel",
        "user": user,
        "channel": channel.id,
        "channel_type": "G" if channel.is_private else "C",
        "team": state.team_id,
        "event_ts": event_ts,
    }
    if inviter:
        event["inviter"] = inviter
    return event


def _event_context(state: SandboxState, event: JsonDict) -> str:
    channel = (
        event.get("channel") or event.get("channel_id") or event.get("item", {}).get("channel")
    )
    context = {"et": event.get("type"), "tid": state.team_id, "aid": state.app_id, "cid": channel}
    encoded = base64.urlsafe_b64encode(json.dumps(context, separators=(",", ":")).encode())
    return "4-" + encoded.decode().rstrip("=")


def envelope(state: SandboxState, event: JsonDict, event_id: str, event_time: int) -> JsonDict:
    return {
        "token": VERIFICATION_TOKEN,
        "team_id": state.team_id,
        "context_team_id": state.team_id,
        "context_enterprise_id": None,
        "api_app_id": state.app_id,
        "event": event,
        "type": "event_callback",
        "event_id": event_id,
        "event_time": event_time,
        "authorizations": [
            {
                "enterprise_id": None,
                "team_id": state.team_id,
                "user_id": state.bot_user_id,
                "is_bot": True,
                "is_enterprise_install": False,
            }
        ],
        "is_ext_shared_channel": False,
        "event_context": _event_context(state, event),
    }
