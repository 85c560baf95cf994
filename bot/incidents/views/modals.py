"""The declare modal, its submission, and the ephemeral answers of `/incident` (pure)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from slack_sdk.models.blocks import (
    Block,
    CheckboxesElement,
    ContextBlock,
    InputBlock,
    Option,
    PlainTextInputElement,
    SectionBlock,
    StaticSelectElement,
    UserSelectElement,
)
from slack_sdk.models.blocks.basic_components import MarkdownTextObject
from slack_sdk.models.views import View

from bot.core.commands import Usage
from bot.incidents.service.parsing import MAX_TITLE
from bot.incidents.service.state import IncidentSummary, Options
from bot.incidents.views.text import channel_link, local_time, person, safe

DECLARE_CALLBACK = "incidents.declare"
VALUE = "value"

USAGE = Usage(
    command="/incident",
    summary="declare, coordinate and close incidents",
    lines=(
        ("", "open the declare form"),
        ("declare <title> [severity]", "declare an incident (a channel, a card, an announcement)"),
        ("role [N] <role> @someone", "give a role (default: commander, communications, scribe)"),
        ("sev [N] <severity>", "change the severity"),
        ("status [N] <status>", "change the status"),
        ("update [#N] <text>", "post a status update here and in the announcement thread"),
        ("note [#N] <text>", "add a note to the timeline"),
        ("followup [#N] <text> [@owner]", "record a follow-up"),
        ("resolve [#N] [summary]", "resolve (commander, reporter or admin); drafts the postmortem"),
        ("list", "open incidents"),
        ("help", "this help"),
    ),
    note=(
        "Inside an incident channel the number is optional; elsewhere give it "
        "(`/incident status 42 mitigated`)."
    ),
)


def declare_modal(opts: Options, user: str) -> View:
    severities = [Option(text=s[:75], value=s) for s in opts.severities[:100]]
    blocks: list[Block] = [
        InputBlock(
            block_id="title",
            label="Title",
            element=PlainTextInputElement(
                action_id=VALUE, max_length=MAX_TITLE, placeholder="What is broken?"
            ),
        ),
        InputBlock(
            block_id="severity",
            label="Severity",
            element=StaticSelectElement(
                action_id=VALUE, options=severities, initial_option=severities[-1]
            ),
        ),
        InputBlock(
            block_id="description",
            label="Description",
            optional=True,
            element=PlainTextInputElement(action_id=VALUE, multiline=True, max_length=2000),
        ),
        InputBlock(
            block_id="private",
            label="Visibility",
            optional=True,
            element=CheckboxesElement(
                action_id=VALUE,
                options=[Option(text="Private incident (private channel)", value="private")],
            ),
        ),
        InputBlock(
            block_id="commander",
            label=opts.lead_role.capitalize(),
            optional=True,
            element=UserSelectElement(action_id=VALUE, initial_user=user),
        ),
    ]
    return View(
        type="modal",
        callback_id=DECLARE_CALLBACK,
        title="Declare an incident",
        submit="Declare",
        close="Cancel",
        blocks=blocks,
    )


@dataclass(frozen=True)
class DeclareForm:
    title: str
    severity: str
    description: str
    private: bool
    commander: str | None


def _value(values: dict[str, Any], block: str) -> dict[str, Any]:
    found = values.get(block, {}).get(VALUE)
    return found if isinstance(found, dict) else {}


def read_declare_form(
    opts: Options, view: dict[str, Any]
) -> tuple[DeclareForm | None, dict[str, str]]:
    """The submitted form, or the errors to show next to the fields (nothing is declared)."""
    values = view.get("state", {}).get("values", {})
    title = " ".join(str(_value(values, "title").get("value") or "").split())
    severity = str((_value(values, "severity").get("selected_option") or {}).get("value") or "")
    errors: dict[str, str] = {}
    if not title:
        errors["title"] = "Give the incident a title."
    elif len(title) > MAX_TITLE:
        errors["title"] = f"At most {MAX_TITLE} characters."
    if severity not in opts.severities:
        errors["severity"] = f"Pick one of {', '.join(opts.severities)}."
    if errors:
        return None, errors
    checked = _value(values, "private").get("selected_options") or []
    return (
        DeclareForm(
            title=title,
            severity=severity,
            description=str(_value(values, "description").get("value") or ""),
            private=any(option.get("value") == "private" for option in checked),
            commander=_value(values, "commander").get("selected_user") or None,
        ),
        {},
    )


def declared_text(number: int, title: str, private: bool) -> str:
    kind = "Private incident" if private else "Incident"
    return (
        f":rotating_light: {kind} #{number} declared: {safe(title)}. "
        "Its channel is being created; you will be invited."
    )


def declared_view(number: int, title: str, private: bool) -> View:
    """What the modal turns into after a successful submission."""
    text = declared_text(number, title, private)
    return View(
        type="modal",
        callback_id=f"{DECLARE_CALLBACK}.done",
        title="Incident declared",
        close="Close",
        blocks=[SectionBlock(text=MarkdownTextObject(text=text))],
    )


def list_blocks(incidents: Sequence[IncidentSummary]) -> tuple[str, list[Block]]:
    if not incidents:
        text = ":white_check_mark: No open incidents."
        return text, [SectionBlock(text=MarkdownTextObject(text=text))]
    lines = [
        f"• *#{i.number}* {safe(i.title, 120)} · {safe(i.severity)} · {safe(i.status)} · "
        f"{person(i.commander_id)} · {channel_link(i.channel_id)} · since "
        f"{local_time(i.declared_at)}"
        for i in incidents
    ]
    text = f"*Open incidents ({len(incidents)})*\n" + "\n".join(lines)
    blocks: list[Block] = [SectionBlock(text=MarkdownTextObject(text=text[:3000]))]
    if len(text) > 3000:
        blocks.append(ContextBlock(elements=[MarkdownTextObject(text="List shortened.")]))
    return text[:3000], blocks
