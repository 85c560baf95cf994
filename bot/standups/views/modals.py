"""The standup modals (create/edit, write answers) and reading what people typed into them."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from slack_sdk.models.blocks import (
    Block,
    CheckboxesElement,
    ContextBlock,
    ConversationFilter,
    ConversationSelectElement,
    InputBlock,
    Option,
    PlainTextInputElement,
    RadioButtonsElement,
    SectionBlock,
    StaticSelectElement,
    UserMultiSelectElement,
)
from slack_sdk.models.blocks.basic_components import MarkdownTextObject
from slack_sdk.models.views import View

from bot.core.dates import WEEKDAYS
from bot.core.security import inert
from bot.standups.service import DEFAULT_QUESTIONS, AnswerForm, StandupSpec, schedule
from bot.standups.views import day_text

CREATE_CALLBACK = "standups.create"
ANSWER_CALLBACK = "standups.answer"
VALUE = "v"
USER_ZONE, FIXED_ZONE = "user", "fixed"


@dataclass(frozen=True)
class GroupChoice:
    id: str
    handle: str
    size: int


@dataclass
class FormDefaults:
    """What the create/edit modal shows first; an edit passes the standup's current values."""

    standup_id: int | None = None
    name: str = ""
    channel: str | None = None
    users: list[str] = field(default_factory=list)
    usergroup: str | None = None
    questions: list[str] = field(default_factory=lambda: list(DEFAULT_QUESTIONS))
    days: tuple[int, ...] = schedule.BUSINESS_DAYS
    minute_of_day: int = 9 * 60 + 30
    fixed_tz: str | None = None
    reminder_minutes: int = 60
    cutoff_minutes: int = 180


def _input(
    block_id: str, label: str, element: Any, *, optional: bool = False, hint: str = ""
) -> InputBlock:
    return InputBlock(
        block_id=block_id, label=label, element=element, optional=optional, hint=hint or None
    )


def _text(
    initial: str = "", *, multiline: bool = False, placeholder: str = ""
) -> PlainTextInputElement:
    return PlainTextInputElement(
        action_id=VALUE,
        initial_value=initial or None,
        multiline=multiline,
        placeholder=placeholder or None,
    )


def _day_option(day: int) -> Option:
    return Option(value=str(day), label=WEEKDAYS[day].title())


def standup_modal(defaults: FormDefaults, groups: list[GroupChoice]) -> View:
    zone_options = [
        Option(value=USER_ZONE, label="Each person's own Slack time zone"),
        Option(value=FIXED_ZONE, label="One fixed time zone (below)"),
    ]
    blocks: list[Block] = [
        _input("name", "Name", _text(defaults.name, placeholder="Team daily")),
        _input(
            "channel",
            "Digest channel",
            ConversationSelectElement(
                action_id=VALUE,
                initial_conversation=defaults.channel,
                filter=ConversationFilter(include=["public", "private"], exclude_bot_users=True),
            ),
        ),
        _input(
            "users",
            "People",
            UserMultiSelectElement(action_id=VALUE, initial_users=defaults.users or None),
            optional=True,
        ),
    ]
    if groups:
        options = [Option(value=g.id, label=f"@{g.handle} ({g.size})"[:75]) for g in groups[:100]]
        initial = next((o for o in options if o.value == defaults.usergroup), None)
        select = StaticSelectElement(action_id=VALUE, options=options, initial_option=initial)
        blocks.append(_input("group", "Or a user group", select, optional=True))
    blocks += [
        _input(
            "questions",
            "Questions (one per line)",
            _text("\n".join(defaults.questions), multiline=True),
            hint="A question mentioning “today” is prefilled with yesterday's answer; one "
            "mentioning “block” is shown first in the digest.",
        ),
        _input(
            "days",
            "Days",
            CheckboxesElement(
                action_id=VALUE,
                options=[_day_option(day) for day in range(7)],
                initial_options=[_day_option(day) for day in defaults.days] or None,
            ),
        ),
        _input("time", "Time (HH:MM)", _text(schedule.time_text(defaults.minute_of_day))),
        _input(
            "tz_mode",
            "Time zone",
            RadioButtonsElement(
                action_id=VALUE,
                options=zone_options,
                initial_option=zone_options[1 if defaults.fixed_tz else 0],
            ),
        ),
        _input(
            "tz",
            "Fixed time zone",
            _text(defaults.fixed_tz or "", placeholder="Europe/Paris"),
            optional=True,
        ),
        _input("reminder", "Reminder after (minutes)", _text(str(defaults.reminder_minutes))),
        _input("cutoff", "Closes after (minutes)", _text(str(defaults.cutoff_minutes))),
    ]
    editing = defaults.standup_id is not None
    return View(
        type="modal",
        callback_id=CREATE_CALLBACK,
        title="Edit standup" if editing else "New standup",
        submit="Save" if editing else "Create",
        close="Cancel",
        private_metadata=json.dumps({"standup": defaults.standup_id}),
        blocks=blocks,
    )


def _values(view: dict[str, Any]) -> dict[str, dict[str, Any]]:
    raw = (view.get("state") or {}).get("values") or {}
    return {block: (actions or {}).get(VALUE) or {} for block, actions in raw.items()}


def _int(text: str, field_name: str, errors: dict[str, str]) -> int:
    try:
        return int(text.strip())
    except ValueError:
        errors[field_name] = "Write a number of minutes, e.g. 60."
        return 0


@dataclass
class ReadForm:
    spec: StandupSpec
    standup_id: int | None
    errors: dict[str, str]


def read_standup_form(view: dict[str, Any]) -> ReadForm:
    """The spec as typed, plus a message per block for what cannot be read."""
    values, errors = _values(view), {}
    minute = 0
    try:
        minute = schedule.parse_time(str(values.get("time", {}).get("value") or ""))
    except ValueError as problem:
        errors["time"] = str(problem).replace("`", "")
    fixed_tz = None
    mode = ((values.get("tz_mode", {}).get("selected_option")) or {}).get("value", USER_ZONE)
    typed_tz = str(values.get("tz", {}).get("value") or "").strip()
    if mode == FIXED_ZONE and not typed_tz:
        errors["tz"] = "Write the time zone, e.g. Europe/Paris."
    elif mode == FIXED_ZONE:
        try:
            fixed_tz = schedule.check_zone(typed_tz)
        except ValueError as problem:
            errors["tz"] = str(problem).replace("`", "")
    group = ((values.get("group", {}).get("selected_option")) or {}).get("value")
    spec = StandupSpec(
        name=str(values.get("name", {}).get("value") or "").strip(),
        channel=values.get("channel", {}).get("selected_conversation")
        or values.get("channel", {}).get("selected_channel"),
        questions=[
            line.strip()
            for line in str(values.get("questions", {}).get("value") or "").splitlines()
            if line.strip()
        ],
        days=tuple(
            sorted(int(o["value"]) for o in values.get("days", {}).get("selected_options") or [])
        ),
        minute_of_day=minute,
        fixed_tz=fixed_tz,
        reminder_minutes=_int(
            str(values.get("reminder", {}).get("value") or ""), "reminder", errors
        ),
        cutoff_minutes=_int(str(values.get("cutoff", {}).get("value") or ""), "cutoff", errors),
        users=list(values.get("users", {}).get("selected_users") or []),
        usergroup=group,
    )
    try:
        standup_id = json.loads(view.get("private_metadata") or "{}").get("standup")
    except (ValueError, AttributeError):
        standup_id = None
    return ReadForm(spec=spec, standup_id=standup_id, errors=errors)


def done_view(title: str, text: str) -> View:
    """What a form turns into once saved: says what happened, with only a Close button."""
    return View(
        type="modal",
        callback_id=f"{CREATE_CALLBACK}.done",
        title=title[:24],
        close="Close",
        blocks=[SectionBlock(text=MarkdownTextObject(text=text[:2900]))],
    )


def answer_modal(form: AnswerForm) -> View:
    blocks: list[Block] = [
        ContextBlock(
            elements=[
                MarkdownTextObject(
                    text=f"*{inert(form.standup_name, 80)}* · {day_text(form.run_date)}"
                    + (" · editing your answers" if form.editing else "")
                )
            ]
        )
    ]
    for index, question in enumerate(form.questions):
        blocks.append(
            _input(
                f"q{index}",
                question[:2000],
                _text(form.initial[index] if index < len(form.initial) else "", multiline=True),
                optional=index == form.blocker_index,
            )
        )
    return View(
        type="modal",
        callback_id=ANSWER_CALLBACK,
        title="Standup",
        submit="Send",
        close="Cancel",
        private_metadata=json.dumps({"run": form.run_id}),
        blocks=blocks,
    )


def read_answers(view: dict[str, Any]) -> tuple[int | None, list[str]]:
    values = _values(view)
    try:
        run_id = int(json.loads(view.get("private_metadata") or "{}").get("run"))
    except (ValueError, TypeError, AttributeError):
        return None, []
    indexes = [int(block[1:]) for block in values if block.startswith("q") and block[1:].isdigit()]
    count = max(indexes, default=-1) + 1
    return run_id, [str(values.get(f"q{i}", {}).get("value") or "") for i in range(count)]
