"""What the bot may see and do in a conversation, with Slack's error codes.

The bot is the calling token's (`state.actor`): a conversation of a workspace the token does
not reach does not exist for it, nor does a person of such a workspace.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .errors import SlackError
from .models import Channel, Message, User

if TYPE_CHECKING:
    from .state import SandboxState


def visible_channel(state: SandboxState, channel_id: str) -> Channel:
    """A conversation the bot can see; private ones it is not in do not exist for it."""
    channel = state.channels.get(channel_id.strip())
    if channel is None or not state.actor.sees_channel(channel):
        raise SlackError("channel_not_found")
    hidden = channel.is_private or channel.is_im or channel.is_mpim
    if hidden and state.actor.bot_user_id not in channel.members:
        raise SlackError("channel_not_found")
    return channel


def visible_user(state: SandboxState, user_id: str, error: str = "user_not_found") -> User:
    """A person (or bot) of a workspace the caller reaches."""
    user = state.users.get(user_id.strip())
    if user is None or not state.actor.sees_user(user):
        raise SlackError(error)
    return user


def require_member(state: SandboxState, channel: Channel) -> None:
    if state.actor.bot_user_id not in channel.members:
        raise SlackError("not_in_channel")


def require_active(channel: Channel) -> None:
    if channel.archived:
        raise SlackError("is_archived")


def require_not_im(channel: Channel) -> None:
    if channel.is_im or channel.is_mpim:
        raise SlackError("method_not_supported_for_channel_type")


def resolve_channel_ref(state: SandboxState, ref: str) -> Channel:
    """chat.postMessage accepts a channel id, a user id (meaning the DM) or a #name."""
    ref = ref.strip()
    if not ref:
        raise SlackError("channel_not_found")
    if ref.startswith(("U", "W")) and ref not in state.channels:
        user = state.users.get(ref)
        if user is None or user.deleted or user.id == state.actor.bot_user_id:
            raise SlackError("channel_not_found")
        if not state.actor.sees_user(user):
            raise SlackError("channel_not_found")
        return state.channels[state.open_im(ref)]
    if ref in state.channels:
        return visible_channel(state, ref)
    by_name = next(
        (c for c in state.channels.values() if c.name == ref.lstrip("#") and not c.is_im
         and state.actor.sees_channel(c)),
        None,
    )  # fmt: skip
    if by_name is None:
        raise SlackError("channel_not_found")
    return visible_channel(state, by_name.id)


def postable_channel(state: SandboxState, ref: str) -> Channel:
    channel = resolve_channel_ref(state, ref)
    public = not (channel.is_private or channel.is_im or channel.is_mpim)
    if not (public and state.chat_write_public):
        require_member(state, channel)
    require_active(channel)
    return channel


def existing_message(state: SandboxState, channel: Channel, ts: str) -> Message:
    msg = state.message(channel.id, ts.strip())
    if msg is None:
        raise SlackError("message_not_found")
    return msg
