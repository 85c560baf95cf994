"""Pure views: a breakage card, and the thread lines under it; the `/ci` answers.

Beside them: `text` (the small formatters they share), `fix` (what the card and its thread
say of the agents asked to fix a breakage) and `fix_form` (the form its button opens).
"""

from __future__ import annotations

import datetime as dt

from slack_sdk.models.blocks import Block, ContextBlock, HeaderBlock, SectionBlock
from slack_sdk.models.blocks.basic_components import MarkdownTextObject

from bot.ci.service.cards import BreakageState, RunInfo, RunLineState, SuspectInfo
from bot.ci.service.queries import BreakageSummary, PipelineStatus
from bot.ci.views.fix import fix_blocks, recovery_credit
from bot.ci.views.text import duration, first_line, mention, run_label, short, when
from bot.core.projector import Rendered
from bot.core.security import inert
from bot.core.text import from_ci, link, plain

MAX_RUNS = 10
MAX_SUSPECTS = 10
MAX_LIST = 40
ICONS = {"open": ":red_circle:", "fixed": ":large_green_circle:", "flaky": ":large_yellow_circle:"}


def _where(state: BreakageState) -> str:
    return f"{inert(state.repo)} {inert(state.branch)}"


def _headline(state: BreakageState) -> str:
    red_for = duration((state.closed_at or state.now) - state.opened_at)
    where = _where(state)
    if state.status == "fixed":
        return f"{where} is green again after {red_for} ({inert(state.workflow)})"
    if state.status == "flaky":
        return f"{where}: {inert(state.workflow)} failed, then passed on the same commit (flaky)"
    return f"{where} is red: {inert(state.workflow)} is failing"


def _run_line(state: BreakageState, run: RunInfo) -> str:
    label = link(run.url, run_label(state.workflow, run.number, run.attempt))
    parts = [f"{label} {inert(run.conclusion, 20)} on {short(run.sha)}"]
    message = first_line(run.commit_message or run.title, 70)
    if message:
        parts.append(message)
    if run.flaky:
        parts.append("_flaky: passed on a re-run_")
    return " · ".join(parts)


def _status_field(state: BreakageState) -> str:
    if state.status == "open":
        return (
            f"*Status*\n:red_circle: red since {when(state.opened_at)}"
            f" ({duration(state.now - state.opened_at)} at last update)"
        )
    red_for = duration((state.closed_at or state.now) - state.opened_at)
    word = "flaky" if state.status == "flaky" else "fixed"
    closed = when(state.closed_at or state.now)
    return f"*Status*\n{ICONS[state.status]} {word} {closed}, red for {red_for}"


def _suspect_line(suspect: SuspectInfo) -> str:
    who = inert(suspect.author_name or "unknown author", 60)
    message = first_line(suspect.message, 70)
    return f"{link(suspect.url, short(suspect.sha))} {message} · {who}".replace("  ", " ")


def _suspects_text(state: BreakageState) -> str:
    if not state.suspects:
        return "*Suspects*\n_looking for the commits…_" if not state.suspects_ready else ""
    lines = [_suspect_line(s) for s in state.suspects[:MAX_SUSPECTS]]
    more = len(state.suspects) - MAX_SUSPECTS
    if more > 0:
        lines.append(f"…and {more} more")
    scope = f" since {short(state.last_green_sha)}" if state.last_green_sha else ""
    return f"*Suspects* (commits{scope})\n" + "\n".join(f"• {line}" for line in lines)


def card(state: BreakageState) -> Rendered | None:
    if state.muted:
        return None
    last_green = short(state.last_green_sha) if state.last_green_sha else "unknown"
    fields = [
        MarkdownTextObject(text=_status_field(state)),
        MarkdownTextObject(text=f"*Workflow*\n{inert(state.workflow, 80)} ({state.provider})"),
        MarkdownTextObject(text=f"*Last green*\n{last_green}"),
    ]
    if state.closing_run:
        run = state.closing_run
        label = "Passed on re-run" if state.status == "flaky" else "Fixed by"
        fields.append(MarkdownTextObject(text=f"*{label}*\n{link(run.url, short(run.sha))}"))
    runs = state.red_runs[-MAX_RUNS:]
    hidden = len(state.red_runs) - len(runs)
    run_lines = [f"• {_run_line(state, run)}" for run in reversed(runs)]
    if hidden:
        run_lines.append(f"…and {hidden} earlier")
    blocks: list[Block] = [
        HeaderBlock(text=_header(state)),
        SectionBlock(text=MarkdownTextObject(text=_headline(state)), fields=fields),
        SectionBlock(
            text=MarkdownTextObject(
                text=f"*Failing runs* ({len(state.red_runs)})\n" + "\n".join(run_lines)
            )
        ),
    ]
    suspects = _suspects_text(state)
    if suspects:
        blocks.append(SectionBlock(text=MarkdownTextObject(text=suspects[:3000])))
    blocks += fix_blocks(state)
    blocks.append(
        ContextBlock(
            elements=[MarkdownTextObject(text=f"`/ci history {_where(state)}` for past breakages")]
        )
    )
    text = f"{ICONS[state.status]} {_headline(state)}"
    return Rendered(channel=state.channel, text=text, blocks=blocks)


def _header(state: BreakageState) -> str:
    icon = {"open": "🔴", "fixed": "🟢", "flaky": "🟡"}[state.status]
    # A header is plain text: repository, branch and workflow names come from the CI provider.
    return f"{icon} " + plain(from_ci(f"{state.repo} {state.branch} · {state.workflow}"), 148)


def run_line(state: RunLineState) -> Rendered | None:
    parent = state.breakage
    text = f":red_circle: Still red: {_run_line(parent, state.run)}"
    if state.run.author_name:
        text += f" · {inert(state.run.author_name, 60)}"
    return Rendered(channel=parent.channel, text=text, thread_ts=parent.thread_ts)


def recovery_line(state: BreakageState) -> Rendered | None:
    run = state.closing_run
    if state.status == "open" or run is None:
        return None
    red_for = duration((state.closed_at or state.now) - state.opened_at)
    if state.status == "flaky":
        rerun = link(run.url, run_label(state.workflow, run.number, run.attempt))
        text = (
            f":large_yellow_circle: Flaky: {short(run.sha)} failed, then passed on {rerun}. "
            f"Red for {red_for}; counted as a flake of *{inert(state.workflow, 80)}*."
        )
    else:
        message = first_line(run.commit_message or run.title, 70)
        by = f" by {inert(run.author_name, 60)}" if run.author_name else ""
        fixed = f"{link(run.url, short(run.sha))}" + (f" ({message})" if message else "")
        text = f":large_green_circle: Green again after {red_for}. Fixed by {fixed}{by}."
    text += recovery_credit(state)
    return Rendered(channel=state.channel, text=text, thread_ts=state.thread_ts)


def suspects_line(state: BreakageState) -> Rendered | None:
    """Each suspect's Slack user is mentioned once, with all of their commits."""
    if not any(mention(s.slack_user) for s in state.suspects):
        return None  # nobody to notify; the card already lists the commits
    by_person: dict[str, list[SuspectInfo]] = {}
    for suspect in state.suspects[:MAX_SUSPECTS]:
        who = mention(suspect.slack_user) or inert(suspect.author_name or "unknown author", 60)
        by_person.setdefault(who, []).append(suspect)
    parts = [
        f"{who} ({', '.join(short(s.sha) for s in commits)})" for who, commits in by_person.items()
    ]
    text = "Suspects for this breakage: " + "; ".join(parts) + ". Could you take a look?"
    return Rendered(channel=state.channel, text=text, thread_ts=state.thread_ts)


def owners_line(state: BreakageState) -> Rendered | None:
    owners = [m for m in (mention(owner) for owner in state.owners) if m]
    if state.status != "open" or not owners:
        return None
    red_for = duration(state.now - state.opened_at)
    text = (
        f":rotating_light: {_where(state)} has been red for {red_for}. "
        f"{' '.join(owners)}, can you take it from here?"
    )
    return Rendered(channel=state.channel, text=text, thread_ts=state.thread_ts)


# --------------------------------------------------------------------------- /ci answers


def _pipeline_line(item: PipelineStatus, now: dt.datetime) -> str:
    name = f"*{inert(item.repo)}* `{inert(item.branch)}` · {inert(item.workflow, 60)}"
    if item.state == "red" and item.since:
        state = f":red_circle: red since {when(item.since)} ({duration(now - item.since)})"
    elif item.state == "green" and item.since:
        state = f":large_green_circle: green since {when(item.since)}"
    else:
        state = ":white_circle: no result yet"
    muted = f" · :no_bell: muted until {when(item.muted_until)}" if item.muted_until else ""
    return f"{state} {name}{muted}"


def status_answer(
    items: list[PipelineStatus], repo: str | None, now: dt.datetime
) -> tuple[str, list[Block]]:
    scope = f" for {inert(repo)}" if repo else ""
    if not items:
        text = f"No tracked pipeline has reported a run yet{scope}."
        return text, [SectionBlock(text=MarkdownTextObject(text=text))]
    red = sum(1 for item in items if item.state == "red")
    plural = "s" if len(items) != 1 else ""
    title = f"{red} of {len(items)} tracked pipeline{plural} red{scope}"
    lines = [_pipeline_line(item, now) for item in items[:MAX_LIST]]
    if len(items) > MAX_LIST:
        lines.append(f"…and {len(items) - MAX_LIST} more; try `/ci status <repo>`")
    return title, _list_blocks(title, lines)


def _history_line(item: BreakageSummary) -> str:
    opened = when(item.opened_at)
    runs = f"{item.failed_runs} failing run{'s' if item.failed_runs != 1 else ''}"
    head = f"{opened} `{inert(item.branch)}` · {inert(item.workflow, 60)}"
    if item.status == "open":
        return f":red_circle: {head}: still red ({runs}, since {short(item.first_red_sha)})"
    took = duration(item.time_to_recover) if item.time_to_recover else "?"
    if item.status == "flaky":
        return f":large_yellow_circle: {head}: *flake* on {short(item.first_red_sha)}, {took}"
    return f":large_green_circle: {head}: fixed in {took} by {short(item.fixed_sha)} ({runs})"


def history_answer(
    items: list[BreakageSummary], repo: str, branch: str | None
) -> tuple[str, list[Block]]:
    where = inert(repo) + (f" {inert(branch)}" if branch else "")
    if not items:
        text = f"No breakages recorded for {where}."
        return text, [SectionBlock(text=MarkdownTextObject(text=text))]
    flakes = sum(1 for item in items if item.status == "flaky")
    count = "Last breakage" if len(items) == 1 else f"Last {len(items)} breakages"
    title = f"{count} of {where}" + (f" ({flakes} flaky)" if flakes else "")
    return title, _list_blocks(title, [_history_line(item) for item in items])


def _list_blocks(title: str, lines: list[str]) -> list[Block]:
    blocks: list[Block] = [SectionBlock(text=MarkdownTextObject(text=f"*{title}*"))]
    chunk: list[str] = []
    for line in lines:
        # A section holds 3000 characters: split long lists over several sections.
        if sum(len(item) + 1 for item in chunk) + len(line) > 2900:
            blocks.append(SectionBlock(text=MarkdownTextObject(text="\n".join(chunk))))
            chunk = []
        chunk.append(line)
    if chunk:
        blocks.append(SectionBlock(text=MarkdownTextObject(text="\n".join(chunk))))
    return blocks


def mute_answer(repo: str, branch: str, until: dt.datetime) -> str:
    return (
        f":no_bell: {inert(repo)} `{inert(branch)}` is muted until {when(until)}: runs are still "
        "tracked, but new breakages get no card until then."
    )


def unmute_answer(repo: str, branch: str, was_muted: bool) -> str:
    if not was_muted:
        return f"{inert(repo)} `{inert(branch)}` was not muted."
    return f":bell: {inert(repo)} `{inert(branch)}` is no longer muted."
