"""Readable transcripts of what people in the sandbox workspace would see."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

from .blocks_text import humanize, render_blocks, text_of
from .ids import ts_to_float
from .models import Ephemeral, Message, View

if TYPE_CHECKING:
    from .state import SandboxState

BODY_INDENT = "    "
REPLY_PREFIX = "    ↳ "
REPLY_BODY_INDENT = "        "


def clock_time(ts: str) -> str:
    return time.strftime("%H:%M:%S", time.gmtime(int(ts_to_float(ts))))


def _author(state: SandboxState, user_id: str) -> str:
    user = state.users.get(user_id)
    return user.name if user else user_id


def _headline(state: SandboxState, msg: Message) -> str:
    # With blocks present Slack shows the blocks; text is only the notification fallback
    text = "" if msg.blocks else humanize(state, msg.text)
    first, *_ = text.splitlines() or [""]
    marks = []
    if msg.edited:
        marks.append("(edited)")
    if msg.reply_broadcast:
        marks.append("(also sent to channel)")
    if msg.pinned:
        marks.append(f"[pinned by {_author(state, msg.pinned_by or '')}]")
    line = f"[{clock_time(msg.ts)}] {_author(state, msg.user)}: {first}".rstrip()
    return " ".join([line, *marks])


def _body(state: SandboxState, msg: Message) -> list[str]:
    lines: list[str] = []
    if not msg.blocks:
        lines.extend(humanize(state, msg.text).splitlines()[1:])
    lines.extend(render_blocks(state, msg.blocks))
    for file_id in msg.files:
        file = state.files.get(file_id)
        lines.append(f"[file: {file.name if file else file_id}]")
    if msg.metadata:
        lines.append(f"(metadata: {msg.metadata.get('event_type')})")
    if msg.reactions:
        reactions = "  ".join(
            f":{name}: {', '.join(_author(state, u) for u in users)}"
            for name, users in msg.reactions.items()
        )
        lines.append(f"reactions: {reactions}")
    return lines


def render_message(state: SandboxState, msg: Message, reply: bool = False) -> list[str]:
    head_prefix, body_prefix = (REPLY_PREFIX, REPLY_BODY_INDENT) if reply else ("", BODY_INDENT)
    lines = [head_prefix + _headline(state, msg)]
    lines.extend(body_prefix + line for line in _body(state, msg))
    return lines


def _heading(state: SandboxState, channel_id: str) -> str:
    return f"=== {state.display_name(channel_id)} ({channel_id}) ==="


def render_channel(state: SandboxState, channel_id: str) -> str:
    lines = [_heading(state, channel_id)]
    for msg in state.messages(channel_id):
        lines.extend(render_message(state, msg))
        if msg.is_reply:
            continue
        for reply in state.replies(channel_id, msg.ts):
            lines.extend(render_message(state, reply, reply=True))
    return "\n".join(lines)


def _render_ephemeral(state: SandboxState, eph: Ephemeral) -> list[str]:
    where = state.display_name(eph.channel)
    text = "" if eph.blocks else humanize(state, eph.text)
    head = (
        f"[{clock_time(eph.ts)}] only {_author(state, eph.user)} in {where} ({eph.source}): {text}"
    )
    return [head.rstrip(), *(BODY_INDENT + line for line in render_blocks(state, eph.blocks))]


def _render_view(state: SandboxState, heading: str, view: View) -> list[str]:
    lines = [heading]
    lines.extend(BODY_INDENT + line for line in render_blocks(state, view.payload.get("blocks")))
    if view.errors:
        lines.extend(f"{BODY_INDENT}! {block}: {error}" for block, error in view.errors.items())
    return lines


def render_workspace(state: SandboxState) -> str:
    sections: list[str] = []
    with_messages = set(state.log.channels())
    ordered = sorted(
        (c for c in state.channels.values() if c.id in with_messages), key=lambda c: c.is_im
    )
    sections.extend(render_channel(state, c.id) for c in ordered)
    if state.ephemerals:
        lines = ["=== Ephemeral messages ==="]
        for eph in state.ephemerals:
            lines.extend(_render_ephemeral(state, eph))
        sections.append("\n".join(lines))
    for user_id, view in state.home_views.items():
        heading = f"=== App Home: {_author(state, user_id)} ==="
        sections.append("\n".join(_render_view(state, heading, view)))
    for view in state.open_views():
        title = text_of(view.payload.get("title"))
        heading = f"=== Modal: {title} ({_author(state, view.user or '?')}, {view.id}) ==="
        sections.append("\n".join(_render_view(state, heading, view)))
    return "\n\n".join(sections) + "\n"
