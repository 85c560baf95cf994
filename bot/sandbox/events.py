"""Events API payloads: the `event` objects and the `event_callback` envelope.

An envelope carries the workspace where the event happened (`team_id`: the acting person's,
else the channel's), the workspace through which the app receives it (`context_team_id`:
that one when the channel is shared with it, else the channel's own) and one authorization:
the org-wide install when the org has one (`team_id` null, `is_enterprise_install` true),
else that workspace's install with its own bot user. Slack sends an event once, even in a
channel shared by several workspaces where the app is installed, and truncates
`authorizations` to one entry; so does the sandbox.
"""

from __future__ import annotations

import base64
import json
import uuid
from typing import TYPE_CHECKING

from .models import Channel, JsonDict, Message
from .payloads import VERIFICATION_TOKEN
from .serialize import message_json, view_json
from .tenancy import installed_actor, team_of_user

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
        "team": team_of_user(state, msg.user),
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
        "team": team_of_user(state, user),
        "event_ts": event_ts,
    }
    if inviter:
        event["inviter"] = inviter
    return event


def _event_channel(event: JsonDict) -> str | None:
    item = event.get("item")
    item_channel = item.get("channel") if isinstance(item, dict) else None
    channel = event.get("channel") or event.get("channel_id") or item_channel
    return channel if isinstance(channel, str) else None


def _event_context(state: SandboxState, event: JsonDict, team_id: str | None) -> str:
    channel = _event_channel(event)
    context = {"et": event.get("type"), "tid": team_id, "aid": state.app_id, "cid": channel}
    encoded = base64.urlsafe_b64encode(json.dumps(context, separators=(",", ":")).encode())
    return "4-" + encoded.decode().rstrip("=")


def event_team(state: SandboxState, event: JsonDict) -> str:
    """Where an event happened: the acting person's workspace, else the channel's."""
    user = state.users.get(str(event.get("user") or ""))
    if user is not None and user.team_id in state.workspaces:
        return user.team_id
    channel = state.channels.get(_event_channel(event) or "")
    return channel.team_id if channel is not None else state.team_id


def envelope(
    state: SandboxState,
    event: JsonDict,
    event_id: str,
    event_time: int,
    team_id: str | None = None,
) -> JsonDict:
    """`team_id`: the workspace where the event happened (default: `event_team`); an
    enterprise id: an event for the org-wide install itself (its uninstall)."""
    team = team_id or event_team(state, event)
    org = state.enterprises.get(team)
    enterprise_id = org.enterprise_id if org else state.workspace(team).enterprise_id
    channel = state.channels.get(_event_channel(event) or "")
    context: str | None = None if org else team
    if channel is not None and context not in channel.team_ids:
        context = channel.team_id
    receiver = installed_actor(state, context) if context else None
    authorization = {
        "enterprise_id": enterprise_id,
        "team_id": None if receiver is None or receiver.is_enterprise_install else context,
        "user_id": receiver.bot_user_id if receiver else org.bot_user_id if org else None,
        "is_bot": True,
        "is_enterprise_install": receiver.is_enterprise_install if receiver else True,
    }
    env: JsonDict = {"token": VERIFICATION_TOKEN, "team_id": None if org else team}
    if enterprise_id is not None:
        env["enterprise_id"] = enterprise_id
    env.update(
        context_team_id=context,
        context_enterprise_id=enterprise_id,
        api_app_id=state.app_id,
        event=event,
        type="event_callback",
        event_id=event_id,
        event_time=event_time,
        authorizations=[authorization],
        is_ext_shared_channel=False,
        event_context=_event_context(state, event, context),
    )
    return env
