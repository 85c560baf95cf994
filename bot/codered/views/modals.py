"""The declare modal and reading what was typed into it (pure)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from slack_sdk.models.blocks import (
    Block,
    DatePickerElement,
    InputBlock,
    Option,
    PlainTextInputElement,
    SectionBlock,
    StaticSelectElement,
    UrlInputElement,
    UserMultiSelectElement,
    UserSelectElement,
)
from slack_sdk.models.blocks.basic_components import MarkdownTextObject
from slack_sdk.models.views import View

from bot.codered.service import DeclareForm
from bot.codered.service.options import LEVELS
from bot.core.security import inert

DECLARE_CALLBACK = "codered.declare"
VALUE = "v"


def _input(block_id: str, label: str, element: Any, *, optional: bool = False) -> InputBlock:
    return InputBlock(block_id=block_id, label=label, element=element, optional=optional)


def declare_modal(declarer: str) -> View:
    levels = [Option(value=level, label=level.title()) for level in reversed(LEVELS)]
    blocks: list[Block] = [
        _input(
            "level",
            "Level",
            StaticSelectElement(action_id=VALUE, options=levels, initial_option=levels[0]),
        ),
        _input(
            "focus",
            "Focus",
            PlainTextInputElement(
                action_id=VALUE, max_length=150, placeholder="Checkout reliability"
            ),
        ),
        _input("owner", "Owner", UserSelectElement(action_id=VALUE, initial_user=declarer)),
        _input(
            "exit",
            "Exit criteria",
            PlainTextInputElement(
                action_id=VALUE, multiline=True, placeholder="Error rate under 0.1% for 7 days"
            ),
        ),
        _input("target", "Target date", DatePickerElement(action_id=VALUE), optional=True),
        _input("people", "Participants", UserMultiSelectElement(action_id=VALUE), optional=True),
        _input(
            "paused",
            "Paused initiatives (one per line)",
            PlainTextInputElement(action_id=VALUE, multiline=True),
            optional=True,
        ),
        _input("call", "Call link", UrlInputElement(action_id=VALUE), optional=True),
    ]
    return View(
        type="modal",
        callback_id=DECLARE_CALLBACK,
        title="Declare a code red",
        submit="Declare",
        close="Cancel",
        blocks=blocks,
    )


def declared_view(focus: str, announce_channel: str | None) -> View:
    """What the form turns into once the code red is declared."""
    where = f" and announced in <#{announce_channel}>" if announce_channel else ""
    text = (
        f":rotating_light: *{inert(focus, 150)}* is declared{where}. The war room "
        "channel is being set up; you will be invited, with the header pinned there."
    )
    return View(
        type="modal",
        callback_id=f"{DECLARE_CALLBACK}.done",
        title="Code red declared",
        close="Close",
        blocks=[SectionBlock(text=MarkdownTextObject(text=text))],
    )


def read_declare_form(view: dict[str, Any]) -> tuple[DeclareForm, dict[str, str]]:
    raw = (view.get("state") or {}).get("values") or {}
    values = {block: (actions or {}).get(VALUE) or {} for block, actions in raw.items()}
    errors: dict[str, str] = {}
    target = None
    picked = values.get("target", {}).get("selected_date")
    if picked:
        try:
            target = dt.date.fromisoformat(str(picked))
        except ValueError:
            errors["target"] = "Pick a date."
    form = DeclareForm(
        level=str((values.get("level", {}).get("selected_option") or {}).get("value") or ""),
        focus=" ".join(str(values.get("focus", {}).get("value") or "").split()),
        owner=str(values.get("owner", {}).get("selected_user") or ""),
        exit_criteria=str(values.get("exit", {}).get("value") or "").strip(),
        target_date=target,
        participants=[str(u) for u in values.get("people", {}).get("selected_users") or []],
        paused=[
            line.strip()
            for line in str(values.get("paused", {}).get("value") or "").splitlines()
            if line.strip()
        ],
        call_link=str(values.get("call", {}).get("value") or "").strip() or None,
    )
    return form, errors
