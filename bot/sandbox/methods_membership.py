"""conversations.* methods that change membership or channel settings."""

from __future__ import annotations

from typing import TYPE_CHECKING

from .access import (
    require_active,
    require_member,
    require_not_im,
    visible_channel,
    visible_user,
)
from .args import Args
from .errors import SlackError
from .methods_conversations import validate_name
from .models import Channel, JsonDict
from .serialize import channel_json

if TYPE_CHECKING:
    from .state import SandboxState

MAX_TOPIC = 250
MAX_PURPOSE = 250
MAX_MPIM_USERS = 8


def _managed(state: SandboxState, args: Args) -> Channel:
    """A channel the bot is in and that still accepts changes."""
    channel = visible_channel(state, args.required("channel", "channel_not_found"))
    require_not_im(channel)
    require_member(state, channel)
    require_active(channel)
    return channel


def invite(state: SandboxState, args: Args) -> JsonDict:
    channel = _managed(state, args)
    users = args.id_list("users")
    if not users:
        raise SlackError("no_user")
    for user_id in users:
        _check_invitee(state, channel, user_id)
    channel.members.update(users)
    return {"channel": channel_json(state, channel)}


def _check_invitee(state: SandboxState, channel: Channel, user_id: str) -> None:
    if user_id == state.actor.bot_user_id:
        raise SlackError("cant_invite_self")
    user = visible_user(state, user_id)
    if user.deleted:
        raise SlackError("user_not_found")
    if user_id in channel.members:
        raise SlackError("already_in_channel")


def join(state: SandboxState, args: Args) -> JsonDict:
    channel = visible_channel(state, args.required("channel", "channel_not_found"))
    if channel.is_private or channel.is_im or channel.is_mpim:
        raise SlackError("method_not_supported_for_channel_type")
    require_active(channel)
    if state.actor.bot_user_id in channel.members:
        return {
            "channel": channel_json(state, channel),
            "warning": "already_in_channel",
            "response_metadata": {"warnings": ["already_in_channel"]},
        }
    channel.members.add(state.actor.bot_user_id)
    return {"channel": channel_json(state, channel)}


def kick(state: SandboxState, args: Args) -> JsonDict:
    channel = _managed(state, args)
    user_id = args.required("user", "user_not_found")
    if user_id == state.actor.bot_user_id:
        raise SlackError("cant_kick_self")
    visible_user(state, user_id)
    if channel.is_general:
        raise SlackError("cant_kick_from_general")
    if user_id not in channel.members:
        raise SlackError("not_in_channel")
    channel.members.discard(user_id)
    return {}


def leave(state: SandboxState, args: Args) -> JsonDict:
    channel = visible_channel(state, args.required("channel", "channel_not_found"))
    require_not_im(channel)
    if state.actor.bot_user_id not in channel.members:
        return {"not_in_channel": True}
    if channel.is_general:
        raise SlackError("cant_leave_general")
    require_active(channel)
    channel.members.discard(state.actor.bot_user_id)
    return {}


def open_(state: SandboxState, args: Args) -> JsonDict:
    if args.has("channel"):
        channel = visible_channel(state, args.text("channel"))
        return {"no_op": True, "already_open": True, "channel": _opened(state, channel, args)}
    users = [u for u in args.id_list("users") if u != state.actor.bot_user_id]
    if not users:
        raise SlackError("users_list_not_supplied")
    if len(users) > MAX_MPIM_USERS:
        raise SlackError("too_many_users")
    for user_id in users:
        if visible_user(state, user_id).deleted:
            raise SlackError("user_not_found")
    if len(users) > 1:
        return {"channel": _opened(state, _open_mpim(state, users), args)}
    existing = state.im_with(users[0])
    channel = state.channels[state.open_im(users[0])]
    result: JsonDict = {"channel": _opened(state, channel, args)}
    if existing is not None:
        result.update(no_op=True, already_open=True)
    return result


def _opened(state: SandboxState, channel: Channel, args: Args) -> JsonDict:
    if args.flag("return_im") or channel.is_mpim:
        return channel_json(state, channel)
    return {"id": channel.id}


def _open_mpim(state: SandboxState, users: list[str]) -> Channel:
    wanted = {*users, state.actor.bot_user_id}
    for channel in state.channels.values():
        if channel.is_mpim and channel.members == wanted:
            return channel
    names = sorted(state.users[u].name for u in wanted)
    team = state.actor.home_team(state.users[users[0]].team_id)
    channel_id = state.add_channel(f"mpdm-{'--'.join(names)}-1", wanted, is_private=True, team=team)
    channel = state.channels[channel_id]
    channel.is_mpim = True
    return channel


def set_topic(state: SandboxState, args: Args) -> JsonDict:
    channel = _managed(state, args)
    topic = args.text("topic")
    if len(topic) > MAX_TOPIC:
        raise SlackError("too_long")
    channel.topic = topic
    channel.topic_creator = state.actor.bot_user_id
    channel.topic_last_set = int(state.now())
    return {"channel": channel_json(state, channel)}


def set_purpose(state: SandboxState, args: Args) -> JsonDict:
    channel = _managed(state, args)
    purpose = args.text("purpose")
    if len(purpose) > MAX_PURPOSE:
        raise SlackError("too_long")
    channel.purpose = purpose
    channel.purpose_creator = state.actor.bot_user_id
    channel.purpose_last_set = int(state.now())
    return {"channel": channel_json(state, channel)}


def archive(state: SandboxState, args: Args) -> JsonDict:
    channel = visible_channel(state, args.required("channel", "channel_not_found"))
    require_not_im(channel)
    if channel.archived:
        raise SlackError("already_archived")
    if channel.is_general:
        raise SlackError("cant_archive_general")
    require_member(state, channel)
    channel.archived = True
    return {}


def unarchive(state: SandboxState, args: Args) -> JsonDict:
    channel = visible_channel(state, args.required("channel", "channel_not_found"))
    require_not_im(channel)
    if not channel.archived:
        raise SlackError("not_archived")
    channel.archived = False
    return {}


def rename(state: SandboxState, args: Args) -> JsonDict:
    channel = _managed(state, args)
    name = args.text("name").strip()
    if name == channel.name:
        return {"channel": channel_json(state, channel)}
    validate_name(state, name)
    channel.previous_names.append(channel.name)
    channel.name = name
    return {"channel": channel_json(state, channel)}


METHODS = {
    "conversations.invite": invite,
    "conversations.join": join,
    "conversations.kick": kick,
    "conversations.leave": leave,
    "conversations.open": open_,
    "conversations.setTopic": set_topic,
    "conversations.setPurpose": set_purpose,
    "conversations.archive": archive,
    "conversations.unarchive": unarchive,
    "conversations.rename": rename,
}
