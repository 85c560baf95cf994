"""The `send_to_agent` modal, the "what was sent" modal and `/agent` usage (pure)."""

from __future__ import annotations

import json
from typing import Any

from slack_sdk.models.blocks import (
    Block,
    ContextBlock,
    InputBlock,
    PlainTextInputElement,
    SectionBlock,
)
from slack_sdk.models.blocks.basic_components import MarkdownTextObject
from slack_sdk.models.views import View

from bot.agents.service.parsing import MAX_ATTEMPTS, Catalog, Spec, resolve
from bot.core.commands import Usage, UsageError
from bot.core.forms import VALUE, attempts_pick, pick, submitted
from bot.core.security import inert

SEND_CALLBACK = "agents.send"
SHORTCUT = "send_to_agent"
FIELDS = ("instruction", "repo", "backend", "attempts", "branch")
CHUNK = 2800

USAGE = Usage(
    command="/agent",
    summary="hand coding tasks to an agent and follow them in a thread",
    lines=(
        ("run <owner/repo> <instruction> [backend=NAME] [attempts=1-4] [branch=BASE]",
         "start a task: the bot opens a thread and the agent reports there"),
        ("list", "your recent agent tasks"),
        ("backends", "the configured agent backends and repositories"),
        ("help", "this help"),
    ),
    note=(
        "In a thread, mention the bot instead: `@opsbot fix the flaky login test "
        "repo=owner/name attempts=2`, or use the message shortcut *Send to agent*."
    ),
)  # fmt: skip


def send_modal(catalog: Catalog, repo: str | None, metadata: dict[str, Any]) -> View:
    blocks: list[Block] = [
        InputBlock(
            block_id="instruction",
            label="Instruction",
            element=PlainTextInputElement(
                action_id=VALUE, multiline=True, placeholder="What should the agent do?"
            ),
        ),
        InputBlock(
            block_id="repo",
            label="Repository (owner/name)",
            element=PlainTextInputElement(action_id=VALUE, initial_value=repo or None),
        ),
    ]
    if catalog.backends:
        blocks.append(pick("backend", "Backend", catalog.backends))
    blocks += [
        attempts_pick("attempts", MAX_ATTEMPTS, 1),
        InputBlock(
            block_id="branch",
            label="Base branch",
            optional=True,
            element=PlainTextInputElement(action_id=VALUE, placeholder="default branch"),
        ),
        ContextBlock(
            elements=[
                MarkdownTextObject(
                    text="The thread of this message is sent as context; messages from people "
                    "not allowed to instruct the agent are sent as quoted data."
                )
            ]
        ),
    ]
    return View(
        type="modal",
        callback_id=SEND_CALLBACK,
        title="Send to agent",
        submit="Start",
        close="Cancel",
        private_metadata=json.dumps(metadata),
        blocks=blocks,
    )


def read_send_form(
    view: dict[str, Any], catalog: Catalog, channel: str | None
) -> tuple[Spec | None, dict[str, str]]:
    """The spec from a submitted modal, or the errors to show next to its fields."""
    form = {name: submitted(view, name) for name in FIELDS}
    try:
        spec = resolve(form["instruction"], form, catalog, channel)
    except UsageError as problem:
        return None, {_field_of(str(problem)): str(problem)[:150]}
    return spec, {}


def _field_of(problem: str) -> str:
    lowered = problem.lower()
    for word, block in (
        ("repositor", "repo"),
        ("backend", "backend"),
        ("attempts", "attempts"),
        ("branch", "branch"),
    ):
        if word in lowered:
            return block
    return "instruction"


def context_modal(payload: str | None, meta: dict[str, Any] | None) -> View:
    """Exactly what the agent was sent, as data (escaped, in code blocks)."""
    blocks: list[Block] = []
    if payload is None:
        blocks.append(SectionBlock(text="Nothing has been sent yet: the thread is being read."))
    else:
        meta = meta or {}
        redactions = sum((meta.get("redactions") or {}).values())
        summary = (
            f"{meta.get('messages', 0)} thread message(s) sent, {meta.get('omitted', 0)} older "
            f"left out, {redactions} secret(s) redacted."
        )
        if meta.get("about"):  # prepared by another feature (a CI breakage), not a thread
            summary = f"{inert(str(meta['about']), 500)}; {redactions} secret(s) redacted."
        blocks.append(ContextBlock(elements=[MarkdownTextObject(text=summary)]))
        for chunk in escaped_chunks(payload)[:90]:
            blocks.append(SectionBlock(text=MarkdownTextObject(text=f"```{chunk}```")))
    return View(type="modal", title="Sent to the agent", close="Close", blocks=blocks)


def escaped_chunks(text: str, size: int = CHUNK) -> list[str]:
    """Escape once, then cut into pieces that never split an `&amp;`-style entity."""
    escaped = inert(text)
    chunks: list[str] = []
    while escaped:
        cut = min(size, len(escaped))
        amp = escaped.rfind("&", max(0, cut - 6), cut)
        if cut < len(escaped) and amp != -1 and ";" not in escaped[amp:cut]:
            cut = amp
        chunks.append(escaped[:cut])
        escaped = escaped[cut:]
    return chunks
