"""The form a press of a breakage card's "Ask agents to fix" opens: how many attempts, which
agent (`bot.core.forms.agent_fields`, read back with `read_agent_fields`) (pure)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from slack_sdk.models.blocks import Block, ContextBlock
from slack_sdk.models.blocks.basic_components import MarkdownTextObject
from slack_sdk.models.views import View

from bot.ci.service.kinds import ASK_AGENTS_FORM
from bot.core.access import record_id
from bot.core.forms import agent_fields
from bot.core.security import inert

CALLBACK = ASK_AGENTS_FORM
BREAKAGE = "breakage"  # the private_metadata key of the breakage id


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
        *agent_fields(backends, backend, most, attempts),
    ]
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
    return record_id(metadata.get(BREAKAGE))
