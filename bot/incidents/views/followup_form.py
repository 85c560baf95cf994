"""The form the card's "Send a follow-up to an agent" menu opens: which repository, how many
attempts, which agent; and what its submission asks for (pure)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from slack_sdk.models.blocks import Block, ContextBlock
from slack_sdk.models.blocks.basic_components import MarkdownTextObject
from slack_sdk.models.views import View

from bot.core.access import record_id
from bot.core.forms import agent_fields, pick, read_agent_fields, submitted
from bot.core.text import by_person, mrkdwn
from bot.incidents.service.handoffs import SendChoices

CALLBACK = "incidents.followup_agent.form"
REPO = "repo"  # the form's own field; the agent fields are `bot.core.forms`'s
INCIDENT, FOLLOWUP = "incident", "followup"  # its private_metadata


@dataclass(frozen=True)
class SendChoice:
    repo: str
    attempts: int
    backend: str


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
        *agent_fields(choices.backends, None, choices.most_attempts, 1),
    ]
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
    incident, followup = record_id(metadata.get(INCIDENT)), record_id(metadata.get(FOLLOWUP))
    return (incident, followup) if incident is not None and followup is not None else None


def read_followup_form(
    view: dict[str, Any], choices: SendChoices
) -> tuple[SendChoice | None, dict[str, str]]:
    """What the submitted form asks for, or the errors to show next to its fields."""
    picks, errors = read_agent_fields(view, choices.backends, choices.most_attempts)
    repo = submitted(view, REPO)
    if repo not in choices.repos:
        errors[REPO] = "Pick one of the repositories the agents work on."
    if picks is None or errors:
        return None, errors
    return SendChoice(repo, picks.attempts, picks.backend), {}
