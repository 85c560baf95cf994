"""Pure views of standups: the channel digest, the DM prompt and reminder, list and stats.

The create/edit and answer modals are in `modals.py`.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from slack_sdk.models.blocks import (
    ActionsBlock,
    Block,
    ButtonElement,
    ContextBlock,
    DividerBlock,
    HeaderBlock,
    SectionBlock,
)
from slack_sdk.models.blocks.basic_components import MarkdownTextObject

from bot.core.projector import Rendered
from bot.core.security import inert
from bot.core.text import by_person, mrkdwn, plain
from bot.standups.service import schedule
from bot.standups.service.cards import AwayNote, DigestState, PersonAnswer, PromptState
from bot.standups.service.kinds import WRITE_ACTION
from bot.standups.service.queries import PersonStats, StandupSummary

MAX_PEOPLE_SHOWN = 40
MAX_SECTION = 2900


def day_text(day: dt.date) -> str:
    return f"{day:%a} {day.day} {day:%b}"


def people(users: Sequence[str]) -> str:
    return ", ".join(f"<@{user}>" for user in users)


def _md(text: str) -> SectionBlock:
    return SectionBlock(text=MarkdownTextObject(text=text[:MAX_SECTION]))


def _context(text: str) -> ContextBlock:
    return ContextBlock(elements=[MarkdownTextObject(text=text[:MAX_SECTION])])


def away_text(note: AwayNote) -> str:
    until = f" until {day_text(note.until)}" if note.until and note.kind == "loan" else ""
    label = inert(note.label, 120) if note.label else note.kind
    return f"<@{note.user}> ({'on loan: ' if note.kind == 'loan' else ''}{label}{until})"


def _answer_text(state: DigestState, answer: PersonAnswer) -> str:
    marks = []
    if answer.late:
        marks.append("late")
    if answer.edited:
        marks.append("edited after the cutoff")
    lines = [f"*<@{answer.user}>*" + (f"  _({', '.join(marks)})_" if marks else "")]
    for index, question in enumerate(state.questions):
        if index == state.blocker_index:
            continue  # blockers are shown on their own, first
        text = answer.answers[index] if index < len(answer.answers) else ""
        if text:
            lines.append(f"*{inert(question, 200)}*\n{mrkdwn(by_person(text), 900)}")
    return "\n".join(lines)


def digest(state: DigestState) -> Rendered | None:
    if not state.channel:
        return None
    name = by_person(state.name)
    blocks: list[Block] = [HeaderBlock(text=f"{plain(name, 120)} · {day_text(state.run_date)}")]
    blockers = [answer for answer in state.answered if answer.blocker]
    if blockers:
        lines = [f"• <@{a.user}>: {mrkdwn(by_person(a.blocker), 400)}" for a in blockers]
        blocks.append(_md(":construction: *Blockers*\n" + "\n".join(lines)))
        blocks.append(DividerBlock())
    for answer in state.answered[:MAX_PEOPLE_SHOWN]:
        blocks.append(_md(_answer_text(state, answer)))
    hidden = len(state.answered) - MAX_PEOPLE_SHOWN
    if hidden > 0:
        blocks.append(_context(f"…and {hidden} more answers."))
    status = []
    if state.waiting:
        status.append(f":hourglass_flowing_sand: Waiting for {people(state.waiting)}")
    if state.missed:
        status.append(f":x: Did not answer: {people(state.missed)}")
    if state.away:
        status.append(f":palm_tree: Away: {', '.join(away_text(note) for note in state.away)}")
    status.append(f"{len(state.answered)} of {state.prompted} answered")
    blocks.append(_context("\n".join(status)))
    text = (
        f"{plain(name, 120)} standup for {day_text(state.run_date)}: "
        + (f"{len(blockers)} blocker(s), " if blockers else "")
        + f"{len(state.answered)} of {state.prompted} answered"
    )
    return Rendered(channel=state.channel, text=text, blocks=blocks)


def _local(moment: dt.datetime, tz: str | None) -> str:
    zone = schedule.zone(tz)
    return f"{moment.astimezone(zone):%H:%M}" if zone else f"{moment:%H:%M} UTC"


def _write_button(state: PromptState, label: str) -> ActionsBlock:
    return ActionsBlock(
        elements=[
            ButtonElement(
                text=label, action_id=WRITE_ACTION, value=str(state.run_id), style="primary"
            )
        ]
    )


def prompt(state: PromptState) -> Rendered:
    where = f" Answers go to <#{state.channel}>." if state.channel else ""
    name, day = inert(state.name, 80), day_text(state.run_date)
    if state.answered:
        text = f":white_check_mark: Thanks! Your *{name}* answers for {day} are in.{where}"
        blocks: list[Block] = [_md(text), _write_button(state, "Edit answers")]
    elif state.closed:
        text = (
            f"The *{name}* standup for {day} has closed. You can still write it; "
            "it will be marked late."
        )
        blocks = [_md(text), _write_button(state, "Write standup")]
    else:
        text = (
            f":wave: Time for *{name}* ({day}).{where} "
            f"It closes at {_local(state.cutoff_at, state.tz)} your time."
        )
        blocks = [_md(text), _write_button(state, "Write standup")]
    return Rendered(channel=state.user, text=text, blocks=blocks)


def reminder(state: PromptState) -> Rendered:
    name = inert(state.name, 80)
    if state.answered:
        text = f":white_check_mark: *{name}*: done, thank you."
        return Rendered(channel=state.user, text=text, blocks=[_md(text)])
    if state.closed:
        text = f"The *{name}* standup for {day_text(state.run_date)} has closed."
        return Rendered(channel=state.user, text=text, blocks=[_md(text)])
    text = (
        f":alarm_clock: Reminder: *{name}* closes at "
        f"{_local(state.cutoff_at, state.tz)} your time, and I have no answers from you yet."
    )
    return Rendered(
        channel=state.user, text=text, blocks=[_md(text), _write_button(state, "Write standup")]
    )


def summary_line(item: StandupSummary) -> str:
    zone = f"in {item.fixed_tz}" if item.fixed_tz else "in each person's time zone"
    where = f"<#{item.channel}>" if item.channel else "(no channel yet)"
    flags = " · *paused*" if item.paused else ""
    flags += f" · run by {item.managed_by}" if item.managed_by else ""
    group = f" (with <!subteam^{item.usergroup}>)" if item.usergroup else ""
    return (
        f"• *{inert(item.name, 80)}* → {where}: {schedule.days_text(item.days)} at "
        f"{schedule.time_text(item.minute_of_day)} {zone}; {item.people} people{group}; "
        f"reminder after {item.reminder_minutes} min, closes after {item.cutoff_minutes} min"
        f"{flags}"
    )


def list_text(items: Sequence[StandupSummary]) -> str:
    if not items:
        return "No standups yet. `/standup create` sets one up."
    return "*Standups*\n" + "\n".join(summary_line(item) for item in items)


def stats_text(name: str, days: int, rows: Sequence[PersonStats]) -> str:
    if not rows:
        return f"*{inert(name, 80)}* has no participants yet."
    lines = [f"*{inert(name, 80)}*: response rate over the last {days} days"]
    for row in sorted(rows, key=lambda r: (-r.rate, r.user)):
        lines.append(
            f"• <@{row.user}>: {row.answered}/{row.asked} ({row.rate:.0%}) · "
            f"streak {row.current_streak} (best {row.best_streak})"
        )
    asked = sum(row.asked for row in rows)
    answered = sum(row.answered for row in rows)
    lines.append(f"Team: {answered}/{asked} ({answered / asked if asked else 0:.0%})")
    return "\n".join(lines)
