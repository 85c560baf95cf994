"""What people decide once attempts are done: which one a follow-up continues, and which one
becomes a pull request (the buttons of the comparison)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence

from sqlalchemy.ext.asyncio import AsyncSession

from bot.agents import models as m
from bot.agents.models import AgentRequest, AgentTask
from bot.agents.service.access import can_control
from bot.core import tasks

TASK_OPEN_PR = "agents.open_pr"
CONTINUE_ACTION = "agents.continue"
OPEN_PR_ACTION = "agents.open_pr"


Decision = Callable[[AsyncSession, int, str, Sequence[str]], Awaitable[AgentTask]]


class ChoiceError(Exception):
    """A refusal to show the person who clicked (ephemeral)."""


async def _done_attempt(
    session: AsyncSession, task_id: int, user: str, admins: Sequence[str], verb: str
) -> tuple[AgentTask, AgentRequest]:
    task = await session.get(AgentTask, task_id, with_for_update=True)
    request = await session.get(AgentRequest, task.request_id) if task else None
    if task is None or request is None:
        raise ChoiceError("That agent task no longer exists.")
    if not can_control(user, request.requester, admins):
        raise ChoiceError(f"Only <@{request.requester}> (who asked) or an admin can {verb}.")
    if task.state != m.COMPLETED or not task.branch:
        raise ChoiceError(f"Attempt {task.attempt} has no branch to {verb.split()[0]}.")
    return task, request


async def choose_attempt(
    session: AsyncSession, task_id: int, user: str, admins: Sequence[str]
) -> AgentTask:
    """Follow-ups in the thread continue this attempt's branch and conversation."""
    task, request = await _done_attempt(session, task_id, user, admins, "continue an attempt")
    request.chosen_attempt = task.attempt
    return task


async def ask_for_pull_request(
    session: AsyncSession, task_id: int, user: str, admins: Sequence[str]
) -> AgentTask:
    """Queue the opening of a draft pull request for the attempt's branch."""
    task, _ = await _done_attempt(session, task_id, user, admins, "open a pull request")
    if task.pr_url:
        raise ChoiceError(f"Attempt {task.attempt} already has a pull request: {task.pr_url}")
    payload = {"task_id": task.id, "by": user}
    await tasks.enqueue(session, TASK_OPEN_PR, payload, key=f"{TASK_OPEN_PR}:{task.id}")
    return task


def thread_url(team: str, channel: str, thread_ts: str | None) -> str:
    """A link to the Slack thread a task came from, for the pull request to point back to."""
    if not team or not thread_ts:
        return f"https://slack.com/app_redirect?channel={channel}"
    return f"https://app.slack.com/client/{team}/{channel}/thread/{channel}-{thread_ts}"
