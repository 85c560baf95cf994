"""chat.* methods."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from .access import existing_message, postable_channel, visible_channel, visible_user
from .args import Args
from .blocks import parse_blocks
from .errors import SlackError
from .models import Ephemeral, JsonDict, ScheduledMessage
from .pagination import page_metadata, paginate
from .serialize import bot_profile, message_json

if TYPE_CHECKING:
    from .state import SandboxState

MAX_TEXT = 40_000
MAX_SCHEDULE_AHEAD = 120 * 24 * 3600


@dataclass
class Content:
    text: str
    blocks: list[Any] | None
    metadata: JsonDict | None
    attachments: list[Any] | None

    @property
    def empty(self) -> bool:
        return not self.text and not self.blocks and not self.attachments


def parse_content(args: Args, require: bool = True) -> Content:
    text = args.text("text")
    blocks = parse_blocks(args)
    attachments = args.decoded("attachments", error="invalid_attachments")
    if attachments is not None and not isinstance(attachments, list):
        raise SlackError("invalid_attachments")
    content = Content(text, blocks, parse_metadata(args), attachments)
    if require and content.empty:
        raise SlackError("no_text")
    if len(text) > MAX_TEXT:
        raise SlackError("msg_too_long")
    return content


def parse_metadata(args: Args) -> JsonDict | None:
    metadata = args.decoded("metadata", error="invalid_metadata_format")
    if metadata is None:
        return None
    if not isinstance(metadata, dict) or not isinstance(metadata.get("event_type"), str):
        raise SlackError("invalid_metadata_format")
    if not isinstance(metadata.get("event_payload", {}), dict):
        raise SlackError("invalid_metadata_schema")
    return {
        "event_type": metadata["event_type"],
        "event_payload": metadata.get("event_payload", {}),
    }


def post_message(state: SandboxState, args: Args) -> JsonDict:
    content = parse_content(args)
    channel = postable_channel(state, args.text("channel"))
    msg = state.post(
        channel.id,
        state.actor.bot_user_id,
        content.text,
        blocks=content.blocks,
        thread_ts=args.text("thread_ts").strip() or None,
        metadata=content.metadata,
        reply_broadcast=args.flag("reply_broadcast"),
        attachments=content.attachments,
    )
    return {"channel": channel.id, "ts": msg.ts, "message": message_json(state, msg)}


def update(state: SandboxState, args: Args) -> JsonDict:
    channel = visible_channel(state, args.required("channel", "channel_not_found"))
    msg = existing_message(state, channel, args.required("ts", "message_not_found"))
    if msg.user != state.actor.bot_user_id:
        raise SlackError("cant_update_message")
    content = parse_content(args, require=False)
    if content.empty:
        raise SlackError("no_text")
    if channel.archived:
        raise SlackError("is_archived")
    if "text" in args.raw:
        msg.text = content.text
    if content.blocks is not None:
        msg.blocks = content.blocks
    if content.attachments is not None:
        msg.attachments = content.attachments
    if content.metadata is not None:
        msg.metadata = content.metadata
    msg.edited = {"user": state.actor.bot_user_id, "ts": state.next_ts()}
    message = message_json(state, msg)
    message.pop("ts", None)
    return {"channel": channel.id, "ts": msg.ts, "text": msg.text, "message": message}


def delete(state: SandboxState, args: Args) -> JsonDict:
    channel = visible_channel(state, args.required("channel", "channel_not_found"))
    msg = existing_message(state, channel, args.required("ts", "message_not_found"))
    if msg.user != state.actor.bot_user_id:
        raise SlackError("cant_delete_message")
    state.delete(channel.id, msg.ts)
    return {"channel": channel.id, "ts": msg.ts}


def post_ephemeral(state: SandboxState, args: Args) -> JsonDict:
    content = parse_content(args)
    user_id = args.required("user", "user_not_found")
    channel = postable_channel(state, args.text("channel"))
    visible_user(state, user_id)
    if user_id not in channel.members:
        raise SlackError("user_not_in_channel")
    ts = state.next_ts()
    state.ephemerals.append(
        Ephemeral(
            channel=channel.id,
            user=user_id,
            text=content.text,
            ts=ts,
            blocks=content.blocks,
            thread_ts=args.text("thread_ts") or None,
        )
    )
    return {"message_ts": ts}


def get_permalink(state: SandboxState, args: Args) -> JsonDict:
    channel = visible_channel(state, args.required("channel", "channel_not_found"))
    msg = existing_message(state, channel, args.required("message_ts", "message_not_found"))
    return {"channel": channel.id, "permalink": permalink(state, channel.id, msg.ts, msg.thread_ts)}


def permalink(state: SandboxState, channel: str, ts: str, thread_ts: str | None = None) -> str:
    link = f"{state.permalink_base}/archives/{channel}/p{ts.replace('.', '')}"
    if thread_ts and thread_ts != ts:
        link += f"?thread_ts={thread_ts}&cid={channel}"
    return link


def schedule_message(state: SandboxState, args: Args) -> JsonDict:
    content = parse_content(args)
    post_at = args.integer("post_at", 0, error="invalid_time")
    channel = postable_channel(state, args.text("channel"))
    now = state.now()
    if post_at <= now:
        raise SlackError("time_in_past")
    if post_at > now + MAX_SCHEDULE_AHEAD:
        raise SlackError("time_too_far")
    scheduled = ScheduledMessage(
        id=state.new_id("Q"),
        channel=channel.id,
        post_at=post_at,
        text=content.text,
        blocks=content.blocks,
        thread_ts=args.text("thread_ts") or None,
        metadata=content.metadata,
        created=int(now),
        bot_user=state.actor.bot_user_id,
    )
    state.scheduled.append(scheduled)
    message: JsonDict = {
        "text": content.text,
        "bot_id": state.actor.bot_id,
        "type": "delayed_message",
        "user": state.actor.bot_user_id,
        "team": state.actor.context_team(channel),
        "bot_profile": bot_profile(state, state.actor.bot_id),
    }
    if content.blocks is not None:
        message["blocks"] = content.blocks
    return {
        "channel": channel.id,
        "scheduled_message_id": scheduled.id,
        "post_at": post_at,
        "message": message,
    }


def delete_scheduled(state: SandboxState, args: Args) -> JsonDict:
    channel = visible_channel(state, args.required("channel", "channel_not_found"))
    wanted = args.required("scheduled_message_id", "invalid_scheduled_message_id")
    match = [s for s in state.scheduled if s.id == wanted and s.channel == channel.id]
    if not match:
        raise SlackError("invalid_scheduled_message_id")
    state.scheduled.remove(match[0])
    return {}


def list_scheduled(state: SandboxState, args: Args) -> JsonDict:
    wanted = args.text("channel")
    mine = state.actor.bot_user_id
    items = [
        s
        for s in state.scheduled
        if (not wanted or s.channel == wanted) and (s.bot_user or state.bot_user_id) == mine
    ]
    page, cursor = paginate(items, args.text("cursor"), args.integer("limit", 100))
    listed = [
        {
            "id": s.id,
            "channel_id": s.channel,
            "post_at": s.post_at,
            "date_created": s.created,
            "text": s.text,
        }
        for s in page
    ]
    return {"scheduled_messages": listed, **page_metadata(cursor)}


METHODS = {
    "chat.postMessage": post_message,
    "chat.update": update,
    "chat.delete": delete,
    "chat.postEphemeral": post_ephemeral,
    "chat.getPermalink": get_permalink,
    "chat.scheduleMessage": schedule_message,
    "chat.deleteScheduledMessage": delete_scheduled,
    "chat.scheduledMessages.list": list_scheduled,
}
