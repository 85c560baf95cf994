"""The form a press of a breakage card's "Ask agents to fix" opens (how many attempts, which
agent), and what its submission asks for (pure)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from slack_sdk.models.blocks import Block, ContextBlock
from slack_sdk.models.blocks.basic_components import MarkdownTextObject
from slack_sdk.models.views import View

from bot.ci.service.kinds import ASK_AGENTS_FORM
from bot.core.forms import attempts_pick, number_in, pick, submitted
from bot.core.security import inert

CALLBACK = ASK_AGENTS_FORM
ATTEMPTS, BACKEND = "attempts", "backend"  # the form's blocks
BREAKAGE = "breakage"  # the private_metadata key of the breakage id


@dataclass(frozen=True)
class FixChoice:
    attempts: int
    backend: str


def fix_form(
    breakage_id: int,
    where: str,
    *,
    backends: Sequence[str],
    most: int,
    attempts: int,
    backend: str | None,
) -> View:
    """Asking agents to fix breakage `breakage_id` (of `where`, "repo branch"), prefilled with
    `attempts` (brought within 1..`most`) and `backend` (when configured; else the first)."""
    blocks: list[Block] = [
        ContextBlock(
            elements=[
                MarkdownTextObject(
                    text=f"Agents are sent the failing jobs of {inert(where, 200)}, their logs "
                    "and the suspects' diff. They work in the card's thread, where their "
                    "attempts are compared."
                )
            ]
        ),
        attempts_pick(ATTEMPTS, most, attempts),
    ]
    if backends:
        blocks.append(pick(BACKEND, "Agent", backends, backend))
    return View(
        type="modal",
        callback_id=CALLBACK,
        title="Ask agents to fix",
        submit="Ask",
        close="Cancel",
        private_metadata=json.dumps({BREAKAGE: breakage_id}),
        blocks=blocks,
    )


def form_breakage(metadata: dict[str, Any]) -> int | None:
    """The breakage id the form carries; None for anything our form would not carry. The
    gate's target and the listener read it with this one function."""
    value = str(metadata.get(BREAKAGE) or "")
    return int(value) if value.isascii() and value.isdigit() and len(value) < 12 else None


def read_fix_form(
    view: dict[str, Any], backends: Sequence[str], most: int
) -> tuple[FixChoice | None, dict[str, str]]:
    """What the submitted form asks for, or the errors to show next to its fields: attempts
    from 1 to `most`, and one of the configured `backends`."""
    errors: dict[str, str] = {}
    attempts = number_in(submitted(view, ATTEMPTS), most)
    if attempts is None:
        errors[ATTEMPTS] = f"Pick from 1 to {most} attempts."
    backend = submitted(view, BACKEND)
    if backend not in backends:
        known = ", ".join(backends[:10]) or "none"
        block = BACKEND if backends else ATTEMPTS  # the form has no agent field without any
        errors[block] = f"Pick one of the configured agents ({known})."[:150]
    if errors or attempts is None:
        return None, errors
    return FixChoice(attempts, backend), {}
