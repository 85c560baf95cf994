"""conversations.* methods that create or read conversations."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from .access import require_member, visible_channel
from .args import Args
from .errors import SlackError
from .ids import ts_micros
from .models import Channel, JsonDict, Message
from .pagination import page_metadata, paginate
from .serialize import channel_json, message_json

if TYPE_CHECKING:
    from .state import SandboxState

_NAME = re.compile(r"^[a-z0-9_-]+$")
MAX_NAME = 80
_FAR_FUTURE = 2**62


def validate_name(state: SandboxState, name: str) -> str:
    if not name:
        raise SlackError("invalid_name_required")
    if len(name) > MAX_NAME:
        raise SlackError("invalid_name_maxlength")
    if not _NAME.match(name):
        raise SlackError("invalid_name_specials")
    if not name.strip("-_"):
        raise SlackError("invalid_name_punctuation")
    if any(c.name == name and state.actor.sees_channel(c) for c in state.channels.values()):
        raise SlackError("name_taken")
    return name


def create(state: SandboxState, args: Args) -> JsonDict:
    team = state.actor.home_team(args.text("team_id"))
    name = validate_name(state, args.text("name").strip())
    bot = state.actor.bot_user_id
    private = args.flag("is_private")
    channel_id = state.add_channel(name, [bot], is_private=private, creator=bot, team=team)
    return {"channel": channel_json(state, state.channels[channel_id])}


def info(state: SandboxState, args: Args) -> JsonDict:
    channel = visible_channel(state, args.required("channel", "channel_not_found"))
    return {"channel": channel_json(state, channel, args.flag("include_num_members"))}


def _type_of(channel: Channel) -> str:
    if channel.is_im:
        return "im"
    if channel.is_mpim:
        return "mpim"
    return "private_channel" if channel.is_private else "public_channel"


def list_(state: SandboxState, args: Args) -> JsonDict:
    types = set(args.id_list("types")) or {"public_channel"}
    exclude_archived = args.flag("exclude_archived")
    team = state.actor.home_team(args.text("team_id"))
    listed = [
        c
        for c in state.channels.values()
        if team in c.team_ids
        and _type_of(c) in types
        and (_type_of(c) == "public_channel" or state.actor.bot_user_id in c.members)
        and not (exclude_archived and c.archived)
    ]
    limit = min(args.integer("limit", 100, error="invalid_limit"), 1000)
    page, cursor = paginate(listed, args.text("cursor"), limit)
    return {"channels": [channel_json(state, c) for c in page], **page_metadata(cursor)}


def _readable(state: SandboxState, args: Args) -> Channel:
    channel = visible_channel(state, args.required("channel", "channel_not_found"))
    require_member(state, channel)
    return channel


def _in_range(msg: Message, args: Args) -> bool:
    oldest = ts_micros(args.text("oldest", "0"))
    latest = ts_micros(args.text("latest")) if args.has("latest") else _FAR_FUTURE
    key = ts_micros(msg.ts)
    if args.flag("inclusive"):
        return oldest <= key <= latest
    return oldest < key < latest


def history(state: SandboxState, args: Args) -> JsonDict:
    channel = _readable(state, args)
    newest_first = [m for m in reversed(state.messages(channel.id)) if _in_range(m, args)]
    limit = min(args.integer("limit", 100, error="invalid_limit"), 999)
    page, cursor = paginate(newest_first, args.text("cursor"), limit)
    with_metadata = args.flag("include_all_metadata")
    return {
        "messages": [message_json(state, m, with_metadata) for m in page],
        "has_more": bool(cursor),
        "pin_count": sum(1 for m in state.all_messages(channel.id) if m.pinned),
        "channel_actions_ts": None,
        "channel_actions_count": 0,
        **page_metadata(cursor),
    }


def replies(state: SandboxState, args: Args) -> JsonDict:
    channel = _readable(state, args)
    root = state.message(channel.id, args.required("ts", "thread_not_found"))
    if root is None:
        raise SlackError("thread_not_found")
    if root.is_reply and root.thread_ts is not None:
        root = state.message(channel.id, root.thread_ts) or root
    thread = [root, *(m for m in state.replies(channel.id, root.ts) if _in_range(m, args))]
    limit = min(args.integer("limit", 1000, error="invalid_limit"), 1000)
    page, cursor = paginate(thread, args.text("cursor"), limit)
    with_metadata = args.flag("include_all_metadata")
    return {
        "messages": [message_json(state, m, with_metadata) for m in page],
        "has_more": bool(cursor),
        **page_metadata(cursor),
    }


def members(state: SandboxState, args: Args) -> JsonDict:
    channel = visible_channel(state, args.required("channel", "channel_not_found"))
    ordered = sorted(channel.members)
    page, cursor = paginate(ordered, args.text("cursor"), args.integer("limit", 100))
    return {"members": page, **page_metadata(cursor)}


METHODS = {
    "conversations.create": create,
    "conversations.info": info,
    "conversations.list": list_,
    "conversations.history": history,
    "conversations.replies": replies,
    "conversations.members": members,
}
