"""Pieces of the modals features open: a pick from a list, and what a submitted form holds.

Every field's element is `VALUE`; its block id names the field. A pick's options are cut to
Slack's limits (100 options, 75 characters of text), and a submitted form is read the same way
whatever the element (a select's chosen value, or typed text).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from slack_sdk.models.blocks import InputBlock, Option, StaticSelectElement

VALUE = "value"
MOST_OPTIONS = 100
OPTION_TEXT = 75


def pick(
    block_id: str, label: str, choices: Sequence[str], initial: str | None = None
) -> InputBlock:
    """A required pick of one of `choices`, `initial` (or the first) chosen."""
    options = [Option(text=value[:OPTION_TEXT], value=value) for value in choices[:MOST_OPTIONS]]
    chosen = next((o for o in options if o.value == initial), options[0] if options else None)
    return InputBlock(
        block_id=block_id,
        label=label,
        element=StaticSelectElement(action_id=VALUE, options=options, initial_option=chosen),
    )


def attempts_pick(block_id: str, most: int, initial: int) -> InputBlock:
    """How many attempts the agents make, 1 to `most`."""
    numbers = [str(n) for n in range(1, most + 1)]
    return pick(
        block_id,
        "Attempts (run in parallel, then compared)",
        numbers,
        str(min(max(initial, 1), most)),
    )


def submitted(view: dict[str, Any], block_id: str) -> str:
    """The value of field `block_id` of a submitted form: the chosen option, or the text."""
    values = (view.get("state") or {}).get("values") or {}
    element = (values.get(block_id) or {}).get(VALUE) or {}
    option = element.get("selected_option") or {}
    return str(option.get("value") or element.get("value") or "").strip()


def number_in(text: str, most: int) -> int | None:
    """`text` as a number from 1 to `most`, else None."""
    if text.isascii() and text.isdigit() and 1 <= int(text) <= most:
        return int(text)
    return None


# The fields of a form that hands work to the coding agents: how many attempts, which agent.
ATTEMPTS, AGENT = "attempts", "backend"


@dataclass(frozen=True)
class AgentPicks:
    attempts: int
    backend: str


def agent_fields(
    backends: Sequence[str], backend: str | None, most: int, attempts: int
) -> list[InputBlock]:
    """The attempts (1 to `most`) and agent (`backend`, or the first) fields."""
    return [attempts_pick(ATTEMPTS, most, attempts), pick(AGENT, "Agent", backends, backend)]


def read_agent_fields(
    view: dict[str, Any], backends: Sequence[str], most: int
) -> tuple[AgentPicks | None, dict[str, str]]:
    """What a submitted form's agent fields ask for, or the errors to show next to them."""
    errors: dict[str, str] = {}
    attempts = number_in(submitted(view, ATTEMPTS), most)
    if attempts is None:
        errors[ATTEMPTS] = f"Pick from 1 to {most} attempts."
    backend = submitted(view, AGENT)
    if backend not in backends:
        known = ", ".join(backends[:10])
        errors[AGENT] = f"Pick one of the configured agents ({known})."[:150]
    if attempts is None or errors:
        return None, errors
    return AgentPicks(attempts, backend), {}
