"""What Slack does with a POST to a response_url."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from .blocks import validate_blocks
from .dispatch import Outcome
from .errors import SlackError
from .models import Ephemeral, Hook, HookPost, JsonDict
from .tenancy import bot_for

if TYPE_CHECKING:
    from .state import SandboxState

MAX_USES = 5


def _text_answer(status: int, text: str) -> Outcome:
    return Outcome(status, {}, text=text)


def apply_hook_post(state: SandboxState, hook_id: str, body: JsonDict) -> Outcome:
    hook = state.hooks.get(hook_id)
    if hook is None:
        return _text_answer(404, "no_service")
    if hook.uses >= MAX_USES:
        # Slack allows five responses per response_url
        return _text_answer(404, "used_url")
    blocks = body.get("blocks")
    if isinstance(blocks, str):
        # Form-encoded posts carry blocks as JSON text
        blocks = body["blocks"] = _decode(blocks)
    try:
        if blocks is not None:
            validate_blocks(blocks)
    except SlackError as exc:
        return _text_answer(400, exc.code)
    if not body.get("text") and not blocks and not body.get("delete_original"):
        return _text_answer(400, "no_text")
    hook.uses += 1
    state.hook_posts.append(HookPost(hook_id, body, state.now(), hook.channel, hook.user))
    _apply(state, hook, body)
    return _text_answer(200, "ok")


def _apply(state: SandboxState, hook: Hook, body: JsonDict) -> None:
    original = (
        state.message(hook.channel, hook.message_ts) if hook.channel and hook.message_ts else None
    )
    if body.get("delete_original"):
        if original is not None:
            state.delete(original.channel, original.ts)
        return
    if body.get("replace_original") and original is not None:
        original.text = str(body.get("text") or "")
        original.blocks = _blocks(body)
        original.edited = {"user": bot_for(state, hook.channel), "ts": state.next_ts()}
        return
    if hook.channel is None:
        return
    if body.get("response_type") == "in_channel":
        state.post(
            hook.channel,
            bot_for(state, hook.channel),
            str(body.get("text") or ""),
            blocks=_blocks(body),
            thread_ts=body.get("thread_ts") or None,
        )
        return
    state.ephemerals.append(
        Ephemeral(
            channel=hook.channel,
            user=hook.user or "",
            text=str(body.get("text") or ""),
            ts=state.next_ts(),
            blocks=_blocks(body),
            thread_ts=body.get("thread_ts") or None,
            source="response_url",
        )
    )


def _decode(text: str) -> Any:
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        return text


def _blocks(body: JsonDict) -> list[Any] | None:
    blocks = body.get("blocks")
    return blocks if isinstance(blocks, list) else None
