"""The App Home view: a person's incidents, agent tasks, standups, CI and the code red banner."""

from __future__ import annotations

import datetime as dt
from typing import Any
from zoneinfo import ZoneInfo

from slack_sdk.models.blocks import (
    Block,
    ButtonElement,
    ConfirmObject,
    ContextBlock,
    DividerBlock,
    HeaderBlock,
    SectionBlock,
)
from slack_sdk.models.blocks.basic_components import MarkdownTextObject
from slack_sdk.models.views import View

from bot.core.projector import HomeView
from bot.core.security import inert
from bot.core.text import link, safe_url
from bot.home.service import HomeState
from bot.home.service.sources import (
    AGENT_CANCEL_ACTION,
    STANDUP_WRITE_ACTION,
    IncidentLine,
    PipelineLine,
    StandupLine,
    TaskLine,
)

TASK_EMOJI = {
    "queued": ":hourglass_flowing_sand:",
    "submitted": ":hourglass_flowing_sand:",
    "working": ":gear:",
    "input_required": ":question:",
    "canceling": ":octagonal_sign:",
    "completed": ":white_check_mark:",
    "failed": ":x:",
    "canceled": ":no_entry_sign:",
}
TASK_LABEL = {"submitted": "starting", "input_required": "waiting for your answer"}
STANDUP_LABEL = {
    "upcoming": "asks at {prompt}",
    "waiting": "waiting for your answer (until {cutoff})",
    "answered": "answered",
    "closed": "closed at {cutoff}",
}
CI_EMOJI = {"red": ":red_circle:", "green": ":large_green_circle:"}


def _md(text: str) -> MarkdownTextObject:
    return MarkdownTextObject(text=text[:2990])


def _heading(text: str) -> SectionBlock:
    return SectionBlock(text=_md(f"*{text}*"))


def _note(text: str) -> ContextBlock:
    return ContextBlock(elements=[_md(text)])


def _time(moment: dt.datetime | None, zone: ZoneInfo, with_day: bool = False) -> str:
    if moment is None:
        return "?"
    return moment.astimezone(zone).strftime("%a %d %b %H:%M" if with_day else "%H:%M")


def banner_blocks(state: HomeState) -> list[Block]:
    if state.banner is None:
        return []
    b = state.banner
    where = f" · <#{b.channel}>" if b.channel else ""
    text = (
        f":rotating_light: *Code red, level {inert(b.level).upper()}*: {inert(b.focus, 150)}\n"
        f"Owner <@{b.owner}>{where}"
    )
    return [SectionBlock(text=_md(text)), DividerBlock()]


def incident_block(item: IncidentLine) -> SectionBlock:
    roles = [inert(role) for role in item.roles] + (["reporter"] if item.reporter else [])
    where = f" · <#{item.channel}>" if item.channel else ""
    return SectionBlock(
        text=_md(
            f"*#{item.number} {inert(item.title, 150)}*\n{inert(item.severity)} · "
            f"{inert(item.status)} · you are {', '.join(roles) or 'involved'}{where}"
        )
    )


def task_block(task: TaskLine) -> SectionBlock:
    emoji = TASK_EMOJI.get(task.state, ":grey_question:")
    label = TASK_LABEL.get(task.state, task.state.replace("_", " "))
    lines = [f"{emoji} *{inert(label)}* · {inert(task.repo)}", inert(task.instruction, 140)]
    if safe_url(task.pr_url):
        lines.append(link(task.pr_url, "Pull request"))
    elif task.error and task.state == "failed":
        lines.append(f"_{inert(task.error, 140)}_")
    cancel = None
    if task.cancellable:
        cancel = ButtonElement(
            text="Cancel",
            action_id=AGENT_CANCEL_ACTION,
            value=str(task.task_id),
            style="danger",
            confirm=ConfirmObject(
                title="Cancel the agent task?",
                text="The agent stops working on this attempt.",
                confirm="Cancel task",
                deny="Keep it",
            ),
        )
    return SectionBlock(text=_md("\n".join(lines)), accessory=cancel)


def standup_block(item: StandupLine, zone: ZoneInfo) -> SectionBlock:
    status = STANDUP_LABEL.get(item.status, item.status).format(
        prompt=_time(item.prompt_at, zone), cutoff=_time(item.cutoff_at, zone)
    )
    where = f" · <#{item.channel}>" if item.channel else ""
    write = None
    if item.run_id is not None and item.status == "waiting":
        write = ButtonElement(
            text="Write", action_id=STANDUP_WRITE_ACTION, value=str(item.run_id), style="primary"
        )
    return SectionBlock(text=_md(f"*{inert(item.name)}*: {status}{where}"), accessory=write)


def ci_text(pipelines: list[PipelineLine], zone: ZoneInfo) -> str:
    lines = []
    for p in pipelines:
        emoji = CI_EMOJI.get(p.state, ":white_circle:")
        muted = " (muted)" if p.muted_until else ""
        lines.append(
            f"{emoji} {inert(p.repo)} `{inert(p.branch)}` {inert(p.workflow)}: "
            f"{inert(p.state)} since {_time(p.since, zone, with_day=True)}{muted}"
        )
    return "\n".join(lines)


def home_blocks(state: HomeState) -> list[Block]:
    zone = ZoneInfo(state.timezone)
    blocks: list[Block] = [HeaderBlock(text="Your opsbot"), *banner_blocks(state)]
    blocks.append(_heading("Your open incidents"))
    blocks += [incident_block(item) for item in state.incidents] or [
        _note("No open incident involves you.")
    ]
    blocks += [DividerBlock(), _heading("Your agent tasks")]
    blocks += [task_block(task) for task in state.tasks] or [
        _note("No agent tasks yet. Mention @opsbot in a thread to hand one over.")
    ]
    blocks += [DividerBlock(), _heading("Your standups today")]
    blocks += [standup_block(item, zone) for item in state.standups] or [
        _note("No standup for you today.")
    ]
    blocks += [DividerBlock(), _heading("CI")]
    if state.pipelines:
        blocks.append(SectionBlock(text=_md(ci_text(state.pipelines, zone))))
    else:
        routed = "No routed repository has reported a run yet."
        blocks.append(_note(routed if state.ci_routed else "No repository is routed to Slack."))
    if state.unavailable:
        missing = ", ".join(
            inert(name) for name in state.unavailable
        )  # section names, made inert anyway
        blocks.append(_note(f":warning: Could not load: {missing}. Open Home again shortly."))
    blocks.append(_note(f"Times in {state.timezone}."))
    return blocks


def home_view(state: HomeState) -> dict[str, Any]:
    return View(type="home", blocks=home_blocks(state)).to_dict()


def home(state: HomeState) -> HomeView:
    """The projected view of a person's home (published with views.publish)."""
    return HomeView(state.user, home_view(state))
