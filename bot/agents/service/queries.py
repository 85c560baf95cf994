"""Read-only questions other features ask (digests, App Home): states, PRs, failures, people."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import ColumnElement, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.agents import models as m
from bot.agents.models import AgentRequest, AgentTask
from bot.core.db import utcnow


@dataclass(frozen=True)
class TaskBrief:
    task_id: int
    request_id: int
    attempt: int
    attempts: int
    state: str
    repo: str
    backend: str
    instruction: str
    requester: str
    channel: str
    thread_ts: str | None
    pr_url: str | None
    branch: str | None
    error: str | None
    created_at: dt.datetime
    finished_at: dt.datetime | None


def _brief(task: AgentTask, request: AgentRequest) -> TaskBrief:
    return TaskBrief(
        task_id=task.id,
        request_id=request.id,
        attempt=task.attempt,
        attempts=request.attempts,
        state=task.state,
        repo=request.repo,
        backend=task.backend,
        instruction=request.instruction,
        requester=request.requester,
        channel=request.channel,
        thread_ts=request.thread_ts,
        pr_url=task.pr_url,
        branch=task.branch,
        error=task.error,
        created_at=task.created_at,
        finished_at=task.finished_at,
    )


def _joined() -> object:
    return select(AgentTask, AgentRequest).join(
        AgentRequest, AgentRequest.id == AgentTask.request_id
    )


async def count_by_state(session: AsyncSession) -> dict[str, int]:
    """How many tasks are in each state (every state is present, zero included)."""
    rows = await session.execute(
        select(AgentTask.state, func.count(AgentTask.id)).group_by(AgentTask.state)
    )
    counts = dict.fromkeys(
        (m.QUEUED, m.SUBMITTED, m.WORKING, m.INPUT_REQUIRED, m.CANCELING, *sorted(m.TERMINAL)), 0
    )
    counts.update({state: int(count) for state, count in rows.all()})
    return counts


async def _finished_between(
    session: AsyncSession,
    since: dt.datetime,
    until: dt.datetime | None,
    *where: ColumnElement[bool],
) -> list[TaskBrief]:
    query = (
        select(AgentTask, AgentRequest)
        .join(AgentRequest, AgentRequest.id == AgentTask.request_id)
        .where(AgentTask.finished_at >= since, AgentTask.finished_at < (until or utcnow()), *where)
        .order_by(AgentTask.finished_at)
    )
    return [_brief(task, request) for task, request in (await session.execute(query)).all()]


async def prs_opened(
    session: AsyncSession, since: dt.datetime, until: dt.datetime | None = None
) -> list[TaskBrief]:
    """Tasks that finished with a pull request in the window."""
    return await _finished_between(
        session, since, until, AgentTask.state == m.COMPLETED, AgentTask.pr_url.is_not(None)
    )


async def failures(
    session: AsyncSession, since: dt.datetime, until: dt.datetime | None = None
) -> list[TaskBrief]:
    """Tasks that failed in the window (canceled ones are not failures)."""
    return await _finished_between(session, since, until, AgentTask.state == m.FAILED)


async def tasks_for_user(session: AsyncSession, user: str, limit: int = 10) -> list[TaskBrief]:
    """A person's most recent tasks, newest first."""
    query = (
        select(AgentTask, AgentRequest)
        .join(AgentRequest, AgentRequest.id == AgentTask.request_id)
        .where(AgentRequest.requester == user)
        .order_by(AgentTask.id.desc())
        .limit(limit)
    )
    return [_brief(task, request) for task, request in (await session.execute(query)).all()]


async def recent_in_channel(
    session: AsyncSession, channel: str, limit: int = 10
) -> list[TaskBrief]:
    query = (
        select(AgentTask, AgentRequest)
        .join(AgentRequest, AgentRequest.id == AgentTask.request_id)
        .where(AgentRequest.channel == channel)
        .order_by(AgentTask.id.desc())
        .limit(limit)
    )
    return [_brief(task, request) for task, request in (await session.execute(query)).all()]


async def active(session: AsyncSession, limit: int = 50) -> list[TaskBrief]:
    """Tasks not finished yet, oldest first."""
    query = (
        select(AgentTask, AgentRequest)
        .join(AgentRequest, AgentRequest.id == AgentTask.request_id)
        .where(AgentTask.state.not_in(list(m.TERMINAL)))
        .order_by(AgentTask.id)
        .limit(limit)
    )
    return [_brief(task, request) for task, request in (await session.execute(query)).all()]
