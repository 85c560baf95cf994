"""Messages of the agents feature, rendered from state (pure: no I/O).

The modals and the `/agent` usage are in `modals`.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

from slack_sdk.models.blocks import (
    ActionsBlock,
    Block,
    ButtonElement,
    ConfirmObject,
    ContextBlock,
    Option,
    SectionBlock,
    StaticSelectElement,
)
from slack_sdk.models.blocks.basic_components import MarkdownTextObject

from bot.agents import models as m
from bot.agents.service import CANCEL_ACTION
from bot.agents.service.choices import CONTINUE_ACTION, OPEN_PR_ACTION
from bot.core.projector import Rendered
from bot.core.security import inert
from bot.core.text import link, safe_url

CANCEL = CANCEL_ACTION
CONTINUE = CONTINUE_ACTION
PICK_REPO = "agents.pick_repo"
REPO_BLOCK = "agents.repo."  # + the ts of the message that asked
MAX_OPTIONS = 100  # Block Kit's limit for a static select
OPEN_PR = OPEN_PR_ACTION
SHOW_CONTEXT = "agents.show_context"
LABELS = {
    m.QUEUED: "queued",
    m.SUBMITTED: "starting",
    m.WORKING: "working",
    m.INPUT_REQUIRED: "waiting for an answer",
    m.CANCELING: "canceling",
    m.COMPLETED: "completed",
    m.FAILED: "failed",
    m.CANCELED: "canceled",
}
EMOJI = {
    m.QUEUED: ":hourglass_flowing_sand:",
    m.SUBMITTED: ":hourglass_flowing_sand:",
    m.WORKING: ":gear:",
    m.INPUT_REQUIRED: ":question:",
    m.CANCELING: ":octagonal_sign:",
    m.COMPLETED: ":white_check_mark:",
    m.FAILED: ":x:",
    m.CANCELED: ":no_entry_sign:",
}
_USER_ID = re.compile(r"^[UW][A-Z0-9]{2,}$")
# How the comparison marks an attempt whose branch CI has run on.
CI_MARKS = {"green": ":large_green_circle: CI green", "red": ":red_circle: CI red"}


@dataclass(frozen=True)
class TaskView:
    """One attempt as the card, the result line and the comparison show it."""

    task_id: int
    request_id: int
    attempt: int
    attempts: int
    state: str
    channel: str
    thread_ts: str
    requester: str
    instruction: str
    repo: str
    backend: str
    base_branch: str | None
    branch: str | None
    latest_step: str | None
    question: str | None
    summary: str | None
    pr_url: str | None
    diff_stat: str | None
    diff_preview: str | None
    files_changed: int | None
    lines_added: int | None
    lines_removed: int | None
    tests: str | None
    error: str | None
    canceled_by: str | None
    created_at: dt.datetime
    started_at: dt.datetime | None
    finished_at: dt.datetime | None
    now: dt.datetime
    ci_state: str | None = None  # CI on the attempt's branch: "green", "red" or not run
    ci_url: str | None = None


@dataclass(frozen=True)
class ParentView:
    request_id: int
    channel: str
    requester: str
    instruction: str
    repo: str
    backend: str
    attempts: int


@dataclass(frozen=True)
class QuestionView:
    task: TaskView
    question: str


@dataclass(frozen=True)
class ComparisonView:
    channel: str
    thread_ts: str
    requester: str
    tasks: tuple[TaskView, ...]
    chosen_attempt: int | None = None
    reviewers: tuple[str, ...] = ()  # asked to review the attempts (a breakage's suspects)


def elapsed(start: dt.datetime, end: dt.datetime) -> str:
    seconds = max(0, int((end - start).total_seconds()))
    if seconds < 60:
        return f"{seconds}s"
    minutes, seconds = divmod(seconds, 60)
    if minutes < 60:
        return f"{minutes}m {seconds:02d}s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h {minutes:02d}m"


def _attempt(task: TaskView) -> str:
    return f" · attempt {task.attempt}/{task.attempts}" if task.attempts > 1 else ""


def _md(text: str) -> MarkdownTextObject:
    return MarkdownTextObject(text=text[:3000])


def _section(text: str) -> SectionBlock:
    return SectionBlock(text=_md(text))


def change_text(task: TaskView) -> str:
    """Files and lines changed, e.g. `2 files, +10 -3`."""
    if task.files_changed is None:
        return "no diff reported"
    plural = "s" if task.files_changed != 1 else ""
    return f"{task.files_changed} file{plural}, +{task.lines_added or 0} -{task.lines_removed or 0}"


def result_text(task: TaskView) -> str:
    if safe_url(task.pr_url):
        return f"{link(task.pr_url, 'Pull request')} ({change_text(task)})"
    if task.pr_url:
        return f"Pull request: {inert(task.pr_url, 200)} ({change_text(task)})"
    if task.branch:
        return f"Branch `{inert(task.branch, 200)}` ({change_text(task)})"
    return change_text(task)


def card(task: TaskView) -> Rendered:
    label = LABELS.get(task.state, task.state)
    start = task.started_at or task.created_at
    took = elapsed(start, task.finished_at or task.now)
    blocks: list[Block] = [
        _section(
            f"{EMOJI.get(task.state, '')} *Coding agent*{_attempt(task)} · *{label}*\n"
            f">{inert(task.instruction, 400)}"
        ),
        ContextBlock(
            elements=[
                _md(
                    f"Repo *{inert(task.repo)}*"
                    + (f" (from `{inert(task.base_branch)}`)" if task.base_branch else "")
                    + f" · backend `{inert(task.backend)}` · asked by <@{task.requester}>"
                    + f" · {took}"
                )
            ]
        ),
    ]
    blocks += _progress_blocks(task)
    blocks += _result_blocks(task)
    blocks.append(_actions(task))
    text = f"Coding agent{_attempt(task)}: {label} · {inert(task.repo)} · {took}"
    return Rendered(channel=task.channel, text=text, blocks=blocks, thread_ts=task.thread_ts)


def _progress_blocks(task: TaskView) -> list[Block]:
    blocks: list[Block] = []
    if task.latest_step and task.state not in m.TERMINAL:
        blocks.append(_section(f"*Latest step:* {inert(task.latest_step, 500)}"))
    if task.state == m.INPUT_REQUIRED and task.question:
        blocks.append(
            _section(
                f":question: *The agent asks <@{task.requester}>:* {inert(task.question, 1500)}\n"
                "_Reply in this thread to answer._"
            )
        )
    return blocks


def _result_blocks(task: TaskView) -> list[Block]:
    blocks: list[Block] = []
    if task.state == m.COMPLETED:
        lines = [f"*Result:* {result_text(task)}"]
        if task.tests:
            lines.append(f"*Tests:* {inert(task.tests, 200)}")
        blocks.append(_section("\n".join(lines)))
        if task.diff_stat:
            blocks.append(_section(f"```{inert(task.diff_stat, 1500)}```"))
        if task.diff_preview:
            blocks.append(_section(f"*The change begins:*\n```{inert(task.diff_preview, 2200)}```"))
    if task.summary and task.state in m.TERMINAL:
        blocks.append(_section(f"*Agent summary:*\n{inert(task.summary, 2000)}"))
    if task.state == m.FAILED:
        blocks.append(
            _section(f":warning: *Failed:* {inert(task.error or 'no reason given', 1500)}")
        )
    if task.state == m.CANCELED:
        who = f" by <@{task.canceled_by}>" if task.canceled_by else ""
        blocks.append(_section(f":no_entry_sign: Canceled{who}."))
    return blocks


def _actions(task: TaskView) -> ActionsBlock:
    elements = [
        ButtonElement(
            text="Show what was sent",
            action_id=SHOW_CONTEXT,
            value=str(task.request_id),
        )
    ]
    if task.state not in m.TERMINAL and task.state != m.CANCELING:
        confirm = ConfirmObject(
            title="Cancel the agent task?",
            text="The agent stops working on this attempt.",
            confirm="Cancel task",
            deny="Keep it",
        )
        elements.insert(
            0,
            ButtonElement(
                text="Cancel",
                action_id=CANCEL,
                value=str(task.task_id),
                style="danger",
                confirm=confirm,
            ),
        )
    return ActionsBlock(block_id=f"agents.task.{task.task_id}", elements=elements)


def parent(view: ParentView) -> Rendered:
    attempts = f" · {view.attempts} attempts" if view.attempts > 1 else ""
    text = (
        f":robot_face: <@{view.requester}> handed a task to the coding agent: "
        f"*{inert(view.instruction, 500)}*\n"
        f"Repo *{inert(view.repo)}* · backend `{inert(view.backend)}`{attempts}. "
        "Progress and the result follow in this thread."
    )
    return Rendered(channel=view.channel, text=text, blocks=[_section(text)])


def question(view: QuestionView) -> Rendered:
    task = view.task
    text = (
        f"<@{task.requester}> :question: The agent{_attempt(task)} asks: "
        f"{inert(view.question, 2500)}\n_Reply in this thread to answer._"
    )
    return Rendered(
        channel=task.channel, text=text, blocks=[_section(text)], thread_ts=task.thread_ts
    )


def result(task: TaskView) -> Rendered | None:
    """The line that tells the requester the task is over (a card edit notifies nobody)."""
    who = f"<@{task.requester}>"
    if task.state == m.COMPLETED:
        text = f"{who} :white_check_mark: The agent finished: {result_text(task)}"
        if task.summary:
            text += f"\n>{inert(task.summary, 600)}"
    elif task.state == m.FAILED:
        text = f"{who} :x: The agent task failed: {inert(task.error or 'no reason given', 1500)}"
    elif task.state == m.CANCELED:
        by = f" by <@{task.canceled_by}>" if task.canceled_by else ""
        text = f"{who} :no_entry_sign: The agent task was canceled{by}."
    else:
        return None
    return Rendered(
        channel=task.channel, text=text, blocks=[_section(text)], thread_ts=task.thread_ts
    )


def comparison_row(task: TaskView) -> str:
    label = LABELS.get(task.state, task.state)
    parts = [f"*Attempt {task.attempt}*", f"{EMOJI.get(task.state, '')} {label}"]
    parts.append(change_text(task))
    parts.append(f"tests: {inert(task.tests, 100)}" if task.tests else "tests: not reported")
    if task.ci_state in CI_MARKS:
        parts.append(link(task.ci_url, CI_MARKS[task.ci_state]))
    if safe_url(task.pr_url):
        parts.append(link(task.pr_url, "PR"))
    elif task.branch and task.state == m.COMPLETED:
        parts.append(f"branch `{inert(task.branch, 200)}`")
    if task.state == m.FAILED and task.error:
        parts.append(f"_{inert(task.error, 200)}_")
    return " · ".join(parts)


def comparison(view: ComparisonView) -> Rendered | None:
    """One message once every attempt is over; nothing before that."""
    if not view.tasks or any(task.state not in m.TERMINAL for task in view.tasks):
        return None
    done = sum(1 for task in view.tasks if task.state == m.COMPLETED)
    count = len(view.tasks)
    attempts = f"{count} attempts are" if count != 1 else "1 attempt is"
    head = f"<@{view.requester}> :bar_chart: *{attempts} done* ({done} completed). Compare them:"
    review = _review_line(view.reviewers)
    if review:
        head += "\n" + review
    rows = [comparison_row(task) for task in view.tasks]
    blocks: list[Block] = [_section(head)]
    for task, row in zip(view.tasks, rows, strict=True):
        chosen = task.attempt == view.chosen_attempt
        blocks.append(
            _section(row + (" · :arrow_right: *follow-ups continue it*" if chosen else ""))
        )
        choices = _choices(task, chosen)
        if choices is not None:
            blocks.append(choices)
    text = head + "\n" + "\n".join(rows)
    return Rendered(channel=view.channel, text=text, blocks=blocks, thread_ts=view.thread_ts)


def _review_line(reviewers: tuple[str, ...]) -> str:
    people = [f"<@{user}>" for user in reviewers if _USER_ID.match(user)]
    if not people:
        return ""
    return f"{', '.join(people)}: could you review these attempts?"


def _choices(task: TaskView, chosen: bool) -> ActionsBlock | None:
    """Open PR and Continue for an attempt that left a branch (the requester and admins)."""
    if task.state != m.COMPLETED or not task.branch:
        return None
    elements = []
    if not task.pr_url:
        elements.append(
            ButtonElement(
                text=f"Open PR for attempt {task.attempt}",
                action_id=OPEN_PR,
                value=str(task.task_id),
                style="primary",
            )
        )
    if not chosen:
        elements.append(
            ButtonElement(
                text=f"Continue with attempt {task.attempt}",
                action_id=CONTINUE,
                value=str(task.task_id),
            )
        )
    if not elements:
        return None
    return ActionsBlock(block_id=f"agents.choose.{task.task_id}", elements=elements)


def repo_question(requester: str, repos: list[str], message_ts: str) -> tuple[str, list[Block]]:
    """Which repository, asked in the thread of a hand-off that named none."""
    text = (
        f"<@{requester}> Which repository should the agent work on? "
        "(Next time, add `repo=owner/name` to the message.)"
    )
    options = [Option(text=inert(repo, 75), value=repo) for repo in repos[:MAX_OPTIONS]]
    select = StaticSelectElement(
        placeholder="Pick a repository", action_id=PICK_REPO, options=options
    )
    blocks: list[Block] = [
        _section(text),
        ActionsBlock(block_id=f"{REPO_BLOCK}{message_ts}", elements=[select]),
    ]
    return text, blocks
