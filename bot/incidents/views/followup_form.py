"""The form the card's "Send a follow-up to an agent" menu opens: which repository, how many
attempts, which agent; and what its submission asks for (pure)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from slack_sdk.models.blocks import Block, ContextBlock
from slack_sdk.models.blocks.basic_components import MarkdownTextObject
from slack_sdk.models.views import View

from bot.core.forms import attempts_pick, number_in, pick, submitted
from bot.core.text import by_person, mrkdwn
from bot.incidents.service.handoffs import SendChoices

CALLBACK = "incidents.followup_agent.form"
REPO, ATTEMPTS, BACKEND = "repo", "attempts", "backend"  # the form's blocks
INCIDENT, FOLLOWUP = "incident", "followup"  # its private_metadata


@dataclass(frozen=True)
class SendChoice:
    repo: str
    attempts: int
    backend: str | None


def followup_form(incident_id: int, followup_id: int, text: str, choices: SendChoices) -> View:
    """Sending follow-up `followup_id` of incident `incident_id` to the agents."""
    blocks: list[Block] = [
        ContextBlock(
            elements=[
                MarkdownTextObject(
                    text=f"*{mrkdwn(by_person(text), 300)}*\nThe agents are sent the follow-up and "
                    "the incident around it; they work in the card's thread."
                )
            ]
        ),
        pick(REPO, "Repository", choices.repos, choices.repo),
        attempts_pick(ATTEMPTS, choices.most_attempts, 1),
    ]
    if choices.backends:
        blocks.append(pick(BACKEND, "Agent", choices.backends))
    return View(
        type="modal",
        callback_id=CALLBACK,
        title="Send to an agent",
        submit="Send",
        close="Cancel",
        private_metadata=json.dumps({INCIDENT: incident_id, FOLLOWUP: followup_id}),
        blocks=blocks,
    )


def form_ids(metadata: dict[str, Any]) -> tuple[int, int] | None:
    """(incident id, follow-up id) the form carries; None for anything it would not carry. The
    gate's targets and the listener read it with this one function."""
    found = [str(metadata.get(key) or "") for key in (INCIDENT, FOLLOWUP)]
    if not all(part.isascii() and part.isdigit() and len(part) < 12 for part in found):
        return None
    return int(found[0]), int(found[1])


def read_followup_form(
    view: dict[str, Any], choices: SendChoices
) -> tuple[SendChoice | None, dict[str, str]]:
    """What the submitted form asks for, or the errors to show next to its fields."""
    errors: dict[str, str] = {}
    repo = submitted(view, REPO)
    if repo not in choices.repos:
        errors[REPO] = "Pick one of the repositories the agents work on."
    attempts = number_in(submitted(view, ATTEMPTS), choices.most_attempts)
    if attempts is None:
        errors[ATTEMPTS] = f"Pick from 1 to {choices.most_attempts} attempts."
    backend = submitted(view, BACKEND) or None
    if choices.backends and backend not in choices.backends:
        errors[BACKEND] = "Pick one of the configured agents."
    if errors or attempts is None:
        return None, errors
    return SendChoice(repo, attempts, backend), {}
