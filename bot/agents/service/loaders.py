"""Read the state each view renders (the projector calls these with a record id)."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from bot.agents import service
from bot.agents.models import AgentRequest, AgentTask
from bot.agents.views import ComparisonView, ParentView, QuestionView, TaskView
from bot.core.db import utcnow
from bot.core.projector import posted_ts


async def thread_of(session: AsyncSession, request: AgentRequest) -> str:
    """The thread a request's messages go to; `/agent run` threads hang off the bot's post."""
    if request.thread_ts:
        return request.thread_ts
    return (await posted_ts(session, service.PARENT, request.id))[1]


def to_view(task: AgentTask, request: AgentRequest, thread_ts: str) -> TaskView:
    return TaskView(
        task_id=task.id,
        request_id=request.id,
        attempt=task.attempt,
        attempts=request.attempts,
        state=task.state,
        channel=request.channel,
        thread_ts=thread_ts,
        requester=request.requester,
        instruction=request.instruction,
        repo=request.repo,
        backend=task.backend,
        base_branch=request.base_branch,
        branch=task.branch,
        latest_step=task.latest_step,
        question=task.question,
        summary=task.summary,
        pr_url=task.pr_url,
        diff_stat=task.diff_stat,
        diff_preview=task.diff_preview,
        files_changed=task.files_changed,
        lines_added=task.lines_added,
        lines_removed=task.lines_removed,
        tests=task.tests,
        ci_state=task.ci_state,
        ci_url=task.ci_url,
        error=task.error,
        canceled_by=task.canceled_by,
        created_at=task.created_at,
        started_at=task.started_at,
        finished_at=task.finished_at,
        now=utcnow(),
    )


async def task_view(session: AsyncSession, record_id: str) -> TaskView | None:
    task = await session.get(AgentTask, int(record_id))
    request = await session.get(AgentRequest, task.request_id) if task else None
    if task is None or request is None:
        return None
    return to_view(task, request, await thread_of(session, request))


async def parent_view(session: AsyncSession, record_id: str) -> ParentView | None:
    request = await session.get(AgentRequest, int(record_id))
    if request is None:
        return None
    return ParentView(
        request_id=request.id,
        channel=request.channel,
        requester=request.requester,
        instruction=request.instruction,
        repo=request.repo,
        backend=request.backend,
        attempts=request.attempts,
    )


async def question_view(session: AsyncSession, record_id: str) -> QuestionView | None:
    task_id, _, number = record_id.partition(".")
    view = await task_view(session, task_id)
    task = await session.get(AgentTask, int(task_id))
    asked = (task.asked or []) if task else []
    index = int(number or 0) - 1
    if view is None or not 0 <= index < len(asked):
        return None
    return QuestionView(task=view, question=asked[index])


async def comparison_view(session: AsyncSession, record_id: str) -> ComparisonView | None:
    request = await session.get(AgentRequest, int(record_id))
    if request is None:
        return None
    thread_ts = await thread_of(session, request)
    tasks = await service.request_tasks(session, request.id)
    return ComparisonView(
        channel=request.channel,
        thread_ts=thread_ts,
        requester=request.requester,
        tasks=tuple(to_view(task, request, thread_ts) for task in tasks),
        chosen_attempt=request.chosen_attempt,
        reviewers=tuple(request.reviewers or ()),
    )
