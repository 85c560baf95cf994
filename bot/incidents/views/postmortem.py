"""The postmortem draft: incident state -> Markdown, in the reader's time zone (pure)."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from bot.core.text import by_person, markdown_file
from bot.incidents.service.state import FollowUpState, IncidentState
from bot.incidents.views.agents import agent_markdown
from bot.incidents.views.text import duration

KIND_LABELS = {"message": "", "update": "Update: ", "note": "Note: "}
MENTION = re.compile(r"<@([UW][A-Z0-9]+)(?:\|[^<>]*)?>")


def zone(tz: str | None) -> ZoneInfo:
    try:
        return ZoneInfo(tz or "UTC")
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")


def filename(number: int) -> str:
    return f"incident-{number}-postmortem.md"


def _name(user: str | None, names: Mapping[str, str]) -> str:
    if not user:
        return "unassigned"
    # Display names are chosen by their owners: as untrusted as any other text.
    return markdown_file(by_person(" ".join(names.get(user, user).split())), 80)


def mentioned(text: str) -> set[str]:
    return set(MENTION.findall(text))


def _readable(text: str, names: Mapping[str, str]) -> str:
    """One line of escaped Markdown, Slack mentions (meaningless in a file) turned into names.

    Escaping keeps what people typed as text: no links, images, HTML or headings of their own.
    """
    pieces: list[str] = []
    last = 0
    for match in MENTION.finditer(text):
        pieces.append(markdown_file(by_person(text[last : match.start()])))
        pieces.append("@" + _name(match.group(1), names))
        last = match.end()
    pieces.append(markdown_file(by_person(text[last:])))
    return " ".join("".join(pieces).split())


def _time(at: dt.datetime | None, tz: ZoneInfo) -> str:
    return "-" if at is None else at.astimezone(tz).strftime("%Y-%m-%d %H:%M")


def _durations(state: IncidentState, tz: ZoneInfo) -> list[str]:
    return [
        "| | |",
        "| --- | --- |",
        f"| Declared | {_time(state.declared_at, tz)} |",
        f"| Mitigated | {_time(state.mitigated_at, tz)} |",
        f"| Resolved | {_time(state.resolved_at, tz)} |",
        f"| Time to mitigate | {duration(state.time_to_mitigate)} |",
        f"| Time to resolve | {duration(state.time_to_resolve)} |",
    ]


def _timeline(state: IncidentState, tz: ZoneInfo, names: Mapping[str, str]) -> list[str]:
    lines = [f"| Time ({tz.key}) | Who | What |", "| --- | --- | --- |"]
    for entry in state.timeline:
        what = KIND_LABELS.get(entry.kind, "") + _readable(entry.text, names)
        who = _name(entry.author_id, names) if entry.author_id else ""
        lines.append(f"| {_time(entry.occurred_at, tz)} | {who} | {what} |")
    return lines


def _followup(followup: FollowUpState, names: Mapping[str, str]) -> str:
    owner = f" (owner: {_name(followup.owner_id, names)})" if followup.owner_id else ""
    agent = f"; {agent_markdown(followup.agent)}" if followup.agent else ""
    return f"- [ ] {_readable(followup.text, names)}{owner}{agent}"


def render(
    state: IncidentState,
    tz_name: str | None,
    names: Mapping[str, str] | None = None,
    generated_at: dt.datetime | None = None,
) -> str:
    """The draft people finish by hand: facts filled in, judgement left as headings."""
    names = names or {}
    tz = zone(tz_name)
    generated = generated_at or state.resolved_at or state.declared_at
    roles = [f"- {role.capitalize()}: {_name(user, names)}" for role, user in state.roles]
    followups = [_followup(f, names) for f in state.followups] or ["- None recorded yet."]
    impact = (
        _readable(state.description, names)
        or "Describe who and what was affected, and for how long."
    )
    parts = [
        f"# Postmortem: incident #{state.number}: {_readable(state.title, names)}",
        "",
        f"_Draft generated {_time(generated, tz)}. All times are {tz.key}._",
        "",
        "## Summary",
        "",
        _readable(state.summary, names) or "To be written.",
        "",
        "## Impact",
        "",
        f"Severity {state.severity}. Reported by {_name(state.reporter_id, names)}. {impact}",
        "",
        "## Durations",
        "",
        *_durations(state, tz),
        "",
        "## Roles",
        "",
        *roles,
        "",
        "## Timeline",
        "",
        *_timeline(state, tz, names),
        "",
        "## Follow-ups",
        "",
        *followups,
        "",
        "## What went well",
        "",
        "## What went wrong",
        "",
        "## Lessons",
        "",
    ]
    return "\n".join(parts)
