"""Pure views of a code red: the pinned header, announcements, the retro, and the notices.

The declare modal is in `modals.py`.
"""

from __future__ import annotations

import datetime as dt

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

from bot.codered.service.cards import (
    AnnounceState,
    EventItem,
    HeaderState,
    LoanItem,
    NoticeState,
    PauseItem,
    RetroState,
)
from bot.codered.service.options import EMOJI, zone
from bot.core.projector import Rendered
from bot.core.security import inert
from bot.core.text import by_person, link, mrkdwn, plain, safe_url

KEEP_ACTION = "codered.keep_level"
STEP_DOWN_ACTION = "codered.step_down"
MAX_SECTION = 2900


def _md(text: str) -> SectionBlock:
    return SectionBlock(text=MarkdownTextObject(text=text[:MAX_SECTION]))


def _context(text: str) -> ContextBlock:
    return ContextBlock(elements=[MarkdownTextObject(text=text[:MAX_SECTION])])


def _date(day: dt.date) -> str:
    return f"{day:%a} {day.day} {day:%b}"


def _span(delta: dt.timedelta) -> str:
    """Rounded to the hour past a day, to the minute below: "2d 6h", "3h 5m", "40m"."""
    seconds = delta.total_seconds()
    if seconds >= 86400:
        hours = round(seconds / 3600)
        days, hours = divmod(hours, 24)
        return f"{days}d {hours}h" if hours else f"{days}d"
    minutes = round(seconds / 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h {minutes}m" if hours else f"{minutes}m"


def _until(item: LoanItem) -> str:
    return f"until {_date(item.until)}" if item.until else "until the end"


def _loan(item: LoanItem) -> str:
    return f"<@{item.user}> {_until(item)}"


def _pause(item: PauseItem) -> str:
    return f"{inert(item.initiative, 200)}" + (f" (<@{item.owner}>)" if item.owner else "")


def _figure(value: float | int | None, unit: str = "") -> str:
    return "n/a" if value is None else f"{int(value)}{unit}"


def _event(item: EventItem, tz: str) -> str:
    at = item.at.astimezone(zone(tz))
    return f"{at:%d %b %H:%M} · {item.kind.replace('_', ' ')} · {mrkdwn(by_person(item.text), 300)}"


def header(state: HeaderState) -> Rendered | None:
    base = state.basics
    if not base.channel:
        return None
    focus = inert(base.focus, 150)
    if base.resolved_at:
        title = f"Resolved code red: {plain(by_person(base.focus), 120)}"
    else:
        title = f"CODE {base.level.upper()}: {plain(by_person(base.focus), 120)}"
    fields = [
        MarkdownTextObject(text=f"*Level*\n{EMOJI[base.level]} {base.level}"),
        MarkdownTextObject(text=f"*Day*\n{state.day}"),
        MarkdownTextObject(text=f"*Owner*\n<@{base.owner}>"),
        MarkdownTextObject(
            text=f"*Target*\n{_date(state.target_date) if state.target_date else 'none set'}"
        ),
    ]
    blocks: list[Block] = [HeaderBlock(text=title[:150]), SectionBlock(fields=fields)]
    blocks.append(_md(f"*Exit criteria*\n{inert(state.exit_criteria, 1500) or '—'}"))
    blocks.append(_md(_checkin_text(state)))
    blocks.append(
        _md(
            f"*Live* · open incidents: {_figure(state.live.open_incidents)} · "
            f"red CI today: {_figure(state.live.red_ci_minutes, ' min')}"
        )
    )
    loans = ", ".join(_loan(item) for item in state.loans) or "nobody"
    paused = "\n".join(f"• {_pause(item)}" for item in state.pauses) or "nothing"
    blocks.append(_md(f"*On loan*: {loans}\n*Paused for this*\n{paused}"))
    if base.summary:
        blocks.append(_md(f"*Resolution*\n{inert(base.summary, 1500)}"))
    blocks.append(DividerBlock())
    lines = [_event(item, base.tz) for item in state.timeline]
    if safe_url(base.call_link) and not base.resolved_at:
        lines.append(f"Call: {link(base.call_link, 'join')}")
    blocks.append(_context("\n".join(lines) or "—"))
    text = f"Code {base.level} (day {state.day}): {focus}" + (
        " — resolved" if base.resolved_at else ""
    )
    return Rendered(channel=base.channel, text=text, blocks=blocks, pin=True)


def _checkin_text(state: HeaderState) -> str:
    day = state.checkin
    if day is None or day.run_date is None:
        return "*Check-in*: none yet; it runs at the set time on check-in days."
    waiting = f" · waiting: {', '.join(f'<@{u}>' for u in day.waiting[:10])}" if day.waiting else ""
    blockers = f" · {day.blockers} blocker(s)" if day.blockers else ""
    return (
        f"*Check-in {_date(day.run_date)}*: {day.answered}/{day.asked} answered{blockers}{waiting}"
    )


def announcement(state: AnnounceState) -> Rendered | None:
    base, event = state.basics, state.event
    focus = inert(base.focus, 150)
    room = f" · war room <#{base.channel}>" if base.channel else ""
    level = event.level or base.level  # the level when it happened, not the current one
    if event.kind == "declared":
        text = (
            f"{EMOJI[level]} *Code {level} declared: {focus}*\n"
            f"Owner <@{base.owner}>{room}. Declared by <@{event.actor}>."
        )
    elif event.kind == "level":
        text = (
            f"{EMOJI[level]} *Code red level changed* "
            f"({mrkdwn(by_person(event.text), 500)})\n{focus}{room}"
        )
    elif event.kind == "resolved":
        text = (
            f":white_check_mark: *Code red resolved after {_span(state.lasted)}: {focus}*\n"
            f"{inert(base.summary or '', 1500)}{room}"
        )
    else:
        return None
    return Rendered(channel=state.channel, text=text, blocks=[_md(text)])


def retro(state: RetroState) -> Rendered | None:
    base = state.basics
    if not base.channel:
        return None
    levels = " → ".join(f"{level} {_span(span)}" for level, span in state.levels)
    asked = sum(person.asked for person in state.participation)
    answered = sum(person.answered for person in state.participation)
    rate = f"{answered}/{asked} ({answered / asked:.0%})" if asked else "no check-ins ran"
    people = "\n".join(
        f"• <@{p.user}>: {p.answered}/{p.asked}" for p in state.participation if p.asked
    )
    paused = "\n".join(f"• {_pause(item)}" for item in state.pauses) or "nothing"
    loans = "\n".join(
        f"• <@{item.user}> {_date(item.start)} → {_date(item.ended_at.date())}"
        if item.ended_at
        else f"• {_loan(item)}"
        for item in state.loans
    )
    blocks: list[Block] = [
        HeaderBlock(text=f"Retro: {plain(by_person(base.focus), 140)}"),
        _md(f"*Duration*: {_span(state.duration)} · *Levels*: {levels}"),
        _md(f"*Check-in participation*: {rate}\n{people}".strip()),
        _md(f"*Blockers*: {state.blockers.raised} raised · {state.blockers.cleared} cleared"),
        _md(f"*Paused for this* (owners asked to resume)\n{paused}"),
        _md(f"*People on loan*\n{loans or 'nobody'}"),
        _md(f"*Summary*\n{inert(base.summary or '', 1500) or '—'}"),
    ]
    text = f"Code red retro: {inert(base.focus, 150)}, {_span(state.duration)}, check-ins {rate}"
    return Rendered(channel=base.channel, text=text, blocks=blocks)


def notice(state: NoticeState) -> Rendered | None:
    text = _notice_text(state)
    if text is None:
        return None
    blocks: list[Block] = [_md(text)]
    if state.kind == "reconfirm" and state.answer is None:
        buttons = [
            ButtonElement(
                text=f"Keep {state.data.get('level')}",
                action_id=KEEP_ACTION,
                value=str(state.id),
            )
        ]
        if state.lower_level:
            buttons.append(
                ButtonElement(
                    text=f"Step down to {state.lower_level}",
                    action_id=STEP_DOWN_ACTION,
                    value=str(state.id),
                    style="primary",
                )
            )
        blocks.append(ActionsBlock(elements=buttons))
    return Rendered(channel=state.target, text=text, blocks=blocks)


def _notice_text(state: NoticeState) -> str | None:
    base, loan = state.basics, state.loan
    focus = inert(base.focus, 150)
    room = f" The war room is <#{base.channel}>." if base.channel else ""
    if state.kind == "loaned" and loan:
        return (
            f":handshake: You are on loan to the code red *{focus}* {_until(loan)}."
            f" Its check-in comes to you by DM; your regular standups show you as on loan.{room}"
        )
    if state.kind == "loan_reminder" and loan and loan.until:
        return (
            f":hourglass: <@{loan.user}>'s loan to the code red *{focus}* ends tomorrow "
            f"({_date(loan.until)}). To extend it: `/codered loan @person until <date>`."
        )
    if state.kind == "loan_ended" and loan:
        return (
            f":wave: Your loan to the code red *{focus}* has ended. Welcome back: your regular "
            "standups will ask you again."
        )
    if state.kind == "resume":
        return (
            f":arrow_forward: The code red *{focus}* is over. You paused "
            f"*{inert(state.initiative or 'an initiative', 200)}* for it: time to resume it."
        )
    if state.kind == "call":
        return _call_text(state)
    if state.kind == "reconfirm":
        return _reconfirm_text(state)
    return None


def _call_text(state: NoticeState) -> str:
    base = state.basics
    call_at = dt.datetime.fromisoformat(str(state.data["call_at"]))
    local = call_at.astimezone(zone(str(state.data.get("tz") or base.tz)))
    call = f" · {link(base.call_link, 'join the call')}" if safe_url(base.call_link) else ""
    blockers = "\n".join(
        f"   • <@{b.user}>: {inert(b.text, 300)} (since {_date(b.since)})" for b in state.blockers
    )
    return (
        f":telephone_receiver: *Code red call at {local:%H:%M}* ({local.tzname()}){call}\n"
        f"*Agenda*\n1. Open blockers" + (f"\n{blockers}" if blockers else ": none") + "\n"
        "2. Progress against the exit criteria\n3. Loans, paused work, and the level"
    )


def _reconfirm_text(state: NoticeState) -> str:
    level, days = state.data.get("level"), state.data.get("days")
    focus = inert(state.basics.focus, 150)
    if state.answer == "kept":
        return f"The code red *{focus}* stays {level} (confirmed by <@{state.answered_by}>)."
    if state.answer == "stepped_down":
        return (
            f"The code red *{focus}* stepped down from {level} to {state.lower_level} "
            f"(by <@{state.answered_by}>)."
        )
    lower = f", or step down to {state.lower_level}" if state.lower_level else ""
    return (
        f":warning: The code red *{focus}* has been {level} for {days} days, longer than its "
        f"maximum. Keep it {level}{lower}? (`/codered resolve <summary>` ends it.)"
    )
