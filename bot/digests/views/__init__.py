"""Pure views of a digest: its snapshot -> Block Kit, times in the digest's own time zone.

The weekly chart, drawn as a PNG, is in `chart`.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from zoneinfo import ZoneInfo

from slack_sdk.models.blocks import Block, ContextBlock, DividerBlock, HeaderBlock, SectionBlock
from slack_sdk.models.blocks.basic_components import MarkdownTextObject

from bot.core.projector import Rendered
from bot.core.security import inert
from bot.core.text import link

Json = dict[str, Any]
SNIPPET = 80
MAX_SECTION = 2900
_LABELLED = re.compile(r"<([^<>|]*)\|([^<>]*)>")
_MARKUP = re.compile(r"<([^<>]*)>")


@dataclass(frozen=True)
class DigestState:
    run_id: int
    channel: str
    timezone: str
    period: str
    fire_time: dt.datetime
    window_start: dt.datetime
    snapshot: Json
    links: dict[str, str] = field(default_factory=dict)


# ------------------------------------------------------------------ text helpers


def plain(text: str | None) -> str:
    """Slack message text as a reader sees it: labels for links, @names, #channels.

    Slack escapes what people type (`&lt;`), so `<...>` is always markup; the result is raw text
    again, to be made inert exactly once by the caller.
    """

    def labelled(match: re.Match[str]) -> str:
        target, label = match.group(1), match.group(2)
        return f"{target[0]}{label}" if target[:1] in ("@", "#") else label

    def bare(match: re.Match[str]) -> str:
        inner = match.group(1)
        return "" if inner.startswith("!") else inner

    text = _MARKUP.sub(bare, _LABELLED.sub(labelled, text or ""))
    text = text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")
    return " ".join(text.split())


def snippet(text: str | None, limit: int = SNIPPET) -> str:
    shown = plain(text)
    return inert(shown, limit) if shown else "(text no longer kept)"


def local(moment: dt.datetime | str | None, zone: ZoneInfo, with_day: bool = True) -> str:
    if moment is None:
        return "?"
    if isinstance(moment, str):
        moment = dt.datetime.fromisoformat(moment)
    shown = moment.astimezone(zone)
    return shown.strftime("%a %H:%M" if with_day else "%H:%M")


def duration(minutes: float | None) -> str:
    if minutes is None:
        return "?"
    if minutes < 1:
        return "under a minute"
    total = int(round(minutes))
    days, rest = divmod(total, 24 * 60)
    hours, mins = divmod(rest, 60)
    if days:
        return f"{days} d {hours} h"
    if hours:
        return f"{hours} h {mins} min" if mins else f"{hours} h"
    return f"{mins} min"


def plural(count: int, word: str, many: str | None = None) -> str:
    return f"{count} {word if count == 1 else (many or word + 's')}"


def _section(title: str, lines: list[str]) -> SectionBlock:
    text = "\n".join([f"*{title}*", *lines])
    if len(text) > MAX_SECTION:
        text = text[: MAX_SECTION - 1] + "\u2026"
    return SectionBlock(text=MarkdownTextObject(text=text))


# ------------------------------------------------------------------ sections


def incidents_lines(data: Json, zone: ZoneInfo) -> list[str]:
    figures = [
        plural(len(data["opened"]), "opened", "opened"),
        plural(len(data["resolved"]), "resolved", "resolved"),
        plural(len(data["ongoing"]), "ongoing", "ongoing"),
    ]
    if data.get("mttr_minutes") is not None:
        figures.append(f"mean time to resolve {duration(data['mttr_minutes'])}")
    lines = [" · ".join(figures)]

    def name(item: Json) -> str:
        where = f" <#{item['channel']}>" if item.get("channel") else ""
        # Snapshots stored before numbers were counted per workspace have only the id, which
        # was the number then.
        number = item.get("number", item["id"])
        return f"#{number} {inert(item['title'], 80)} ({inert(item['severity'])}){where}"

    for item in data["ongoing"][:5]:
        since = local(item["declared_at"], zone)
        lines.append(f"• Ongoing: {name(item)}, {inert(item['status'])} since {since}")
    listed = {item["id"] for item in data["ongoing"] + data["resolved"]}
    for item in data["opened"][:5]:
        if item["id"] not in listed:
            lines.append(f"• Opened: {name(item)}")
    for item in data["resolved"][:5]:
        lines.append(f"• Resolved: {name(item)} after {duration(item['minutes'])}")
    for pr in data.get("followup_prs", [])[:5]:  # absent from snapshots of older digests
        incident = pr["incident"]
        label = f"PR for a follow-up of #{incident['number']}: {snippet(pr['followup'], 70)}"
        lines.append(f"• {link(pr['url'], label)}")
    return lines


def ci_lines(data: Json, zone: ZoneInfo) -> list[str]:
    lines = []
    for item in data["red_now"][:5]:
        lines.append(
            f":red_circle: Red now: {inert(item['repo'])} `{inert(item['branch'])}` "
            f"({inert(item['workflow'])}) since {local(item['since'], zone)}"
        )
    if data["red_minutes"]:
        parts = [
            f"{inert(item['repo'])} `{inert(item['branch'])}` {duration(item['minutes'])}"
            for item in data["red_minutes"][:5]
        ]
        lines.append("Red time: " + " · ".join(parts))
    counts = []
    if data["breakages"]:
        counts.append(f"{plural(data['breakages'], 'breakage')} ({data['fixed']} fixed)")
    if data["flakes"]:
        flaky = ", ".join(
            f"{inert(item['workflow'])} ×{item['count']}" for item in data["flaky"][:3]
        )
        counts.append(f"{plural(data['flakes'], 'flaky run')} ({flaky})")
    if counts:
        lines.append(" · ".join(counts))
    return lines


def agents_lines(data: Json) -> list[str]:
    figures = [plural(len(data["prs"]), "PR opened", "PRs opened")]
    figures.append(plural(len(data["failures"]), "failure"))
    if data["active"]:
        figures.append(f"{data['active']} in progress")
    lines = [" · ".join(figures)]
    for task in data["prs"][:5]:
        label = f"{inert(task['repo'])}: {snippet(task['instruction'], 70)}"
        lines.append(f"• {link(task['pr_url'], label)}")
    for task in data["failures"][:3]:
        why = f" ({snippet(task['error'], 60)})" if task.get("error") else ""
        lines.append(f"• Failed: {inert(task['repo'])}: {snippet(task['instruction'], 60)}{why}")
    return lines


def standups_lines(data: Json) -> list[str]:
    lines = []
    level = data.get("codered")
    if level:
        title = f": {inert(level['title'], 80)}" if level.get("title") else ""
        lines.append(f":rotating_light: Code red, level *{inert(level['level'])}*{title}")
    for item in data["standups"]:
        rate = round(100 * item["answered"] / item["asked"]) if item["asked"] else 0
        lines.append(
            f"• {inert(item['name'])}: {item['answered']} of {item['asked']} answered ({rate}%)"
        )
    if data["blockers"]:
        lines.append(f"Open blockers: {len(data['blockers'])}")
        for blocker in data["blockers"][:5]:
            lines.append(
                f"• <@{blocker['user']}> ({inert(blocker['standup'])}): "
                f"{snippet(blocker['text'], 100)}"
            )
    return lines


def activity_lines(data: Json, zone: ZoneInfo, links: dict[str, str]) -> list[str]:
    lines = [
        f"{plural(data['messages'], 'message')} from {plural(data['people'], 'person', 'people')}"
        f" · {plural(data['reactions'], 'reaction')}"
    ]
    if data["threads"]:
        lines.append("Busiest threads:")
        for thread in data["threads"]:
            label = snippet(thread["text"], 70)
            replies = plural(thread["replies"], "reply", "replies")
            lines.append(f"• {link(links.get(thread['ts']), label)}: {replies}")
    if data["unanswered_total"]:
        hours = f"{data['unanswered_hours']:g}"
        lines.append(f"Unanswered after {hours} h: {data['unanswered_total']}")
        for question in data["unanswered"][:5]:
            label = snippet(question["text"], 70)
            asked = local(question["posted_at"], zone)
            lines.append(f"• {link(links.get(question['ts']), label)} (asked {asked})")
    return lines


# ------------------------------------------------------------------ the digest


def title(state: DigestState) -> str:
    zone = ZoneInfo(state.timezone)
    day = state.fire_time.astimezone(zone).strftime("%a %d %b")
    return f"{'Weekly' if state.period == 'weekly' else 'Daily'} digest, {day}"


def _summary(snapshot: Json) -> str:
    parts = []
    if "activity" in snapshot:
        data = snapshot["activity"]
        parts.append(
            f"{plural(data['messages'], 'message')} from "
            f"{plural(data['people'], 'person', 'people')}"
        )
    if "incidents" in snapshot:
        parts.append(f"{len(snapshot['incidents']['opened'])} incident(s) opened")
    if "ci" in snapshot:
        parts.append(f"{plural(snapshot['ci']['breakages'], 'CI breakage')}")
    if "agents" in snapshot:
        parts.append(f"{len(snapshot['agents']['prs'])} agent PR(s)")
    return ", ".join(parts) or "nothing to report"


def digest_blocks(state: DigestState) -> list[Block]:
    zone = ZoneInfo(state.timezone)
    snapshot = state.snapshot
    since = state.window_start.astimezone(zone).strftime("%a %d %b %H:%M")
    blocks: list[Block] = [
        HeaderBlock(text=title(state)),
        ContextBlock(
            elements=[
                MarkdownTextObject(
                    text=f"<#{state.channel}> since {since} · times in {state.timezone}"
                )
            ]
        ),
    ]
    sections: list[tuple[str, str, Callable[[Json], list[str]]]] = [
        ("incidents", "Incidents", lambda d: incidents_lines(d, zone)),
        ("ci", "CI", lambda d: ci_lines(d, zone)),
        ("agents", "Agents", agents_lines),
        ("standups", "Standups and code red", standups_lines),
        ("activity", "This channel", lambda d: activity_lines(d, zone, state.links)),
    ]
    for key, heading, lines in sections:
        if snapshot.get(key):
            blocks += [DividerBlock(), _section(heading, lines(snapshot[key]))]
    if len(blocks) == 2:
        blocks.append(SectionBlock(text=MarkdownTextObject(text="A quiet one: nothing to report.")))
    return blocks


def digest_view(state: DigestState) -> Rendered:
    return Rendered(
        channel=state.channel,
        text=f"{title(state)}: {_summary(state.snapshot)}",
        blocks=digest_blocks(state),
    )
