"""pins.* and reactions.* methods."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from .access import existing_message, require_active, require_member, visible_channel
from .args import Args
from .errors import SlackError
from .models import Channel, JsonDict, Message
from .serialize import message_json

if TYPE_CHECKING:
    from .state import SandboxState

# Emoji short names as Slack stores them: no colons, optional skin tone suffix
_EMOJI = re.compile(r"^[a-z0-9_+'-]+(::skin-tone-[2-6])?$")
MAX_DISTINCT_REACTIONS = 23


def _target(state: SandboxState, args: Args) -> tuple[Channel, Message]:
    channel = visible_channel(state, args.required("channel", "channel_not_found"))
    require_member(state, channel)
    msg = existing_message(state, channel, args.required("timestamp", "message_not_found"))
    return channel, msg


def pins_add(state: SandboxState, args: Args) -> JsonDict:
    channel, msg = _target(state, args)
    require_active(channel)
    if msg.pinned:
        raise SlackError("already_pinned")
    state.pin(channel.id, msg.ts, state.actor.bot_user_id)
    return {}


def pins_remove(state: SandboxState, args: Args) -> JsonDict:
    channel, msg = _target(state, args)
    if not msg.pinned:
        raise SlackError("no_pin")
    state.unpin(channel.id, msg.ts)
    return {}


def pins_list(state: SandboxState, args: Args) -> JsonDict:
    channel = visible_channel(state, args.required("channel", "channel_not_found"))
    pinned = [m for m in state.all_messages(channel.id) if m.pinned]
    items = [
        {
            "type": "message",
            "created": m.pinned_at,
            "created_by": m.pinned_by,
            "channel": channel.id,
            "message": message_json(state, m),
        }
        for m in pinned
    ]
    return {"items": items}


def _emoji_name(args: Args) -> str:
    name = args.text("name").strip()
    if not _EMOJI.match(name):
        raise SlackError("invalid_name")
    return name


def reactions_add(state: SandboxState, args: Args) -> JsonDict:
    name = _emoji_name(args)
    channel, msg = _target(state, args)
    require_active(channel)
    if state.actor.bot_user_id in msg.reactions.get(name, []):
        raise SlackError("already_reacted")
    if name not in msg.reactions and len(msg.reactions) >= MAX_DISTINCT_REACTIONS:
        raise SlackError("too_many_reactions")
    state.react(channel.id, msg.ts, state.actor.bot_user_id, name)
    return {}


def reactions_remove(state: SandboxState, args: Args) -> JsonDict:
    name = _emoji_name(args)
    channel, msg = _target(state, args)
    if state.actor.bot_user_id not in msg.reactions.get(name, []):
        raise SlackError("no_reaction")
    state.unreact(channel.id, msg.ts, state.actor.bot_user_id, name)
    return {}


def reactions_get(state: SandboxState, args: Args) -> JsonDict:
    channel, msg = _target(state, args)
    return {"type": "message", "channel": channel.id, "message": message_json(state, msg)}


METHODS = {
    "pins.add": pins_add,
    "pins.remove": pins_remove,
    "pins.list": pins_list,
    "reactions.add": reactions_add,
    "reactions.remove": reactions_remove,
    "reactions.get": reactions_get,
}
