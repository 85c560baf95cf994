"""From rows to what a backend needs: the job for a task, and the backend that runs it."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.agents import models as m
from bot.agents.backends import create_backend
from bot.agents.backends.base import Backend, BackendEnv, Job
from bot.agents.models import AgentRequest, AgentTask
from bot.agents.service.choices import thread_url
from bot.agents.settings import SECTION as AGENTS

if TYPE_CHECKING:
    from bot.feature import FeatureContext


@dataclass(frozen=True)
class Loaded:
    state: str
    backend: str
    job: Job


def backend_for(rt: FeatureContext, name: str) -> Backend | None:
    """The configured backend by name, read from the settings at the time of use."""
    for config in rt.settings.section(AGENTS).backends:
        if config.name == name:
            env = BackendEnv(
                agents=rt.settings.section(AGENTS), public_url=rt.settings.opsbot_public_url
            )
            return create_backend(config, env)
    return None


async def task_state(rt: FeatureContext, task_id: int) -> str | None:
    async with rt.sessions() as session:
        return await session.scalar(select(AgentTask.state).where(AgentTask.id == task_id))


async def _previous(
    session: AsyncSession, request: AgentRequest, backend: str
) -> tuple[tuple[str, ...], str | None]:
    """A follow-up refers to the earlier request's tasks and continues its branch."""
    if request.follow_up_of is None:
        return (), None
    rows = list(
        await session.scalars(
            select(AgentTask)
            .where(AgentTask.request_id == request.follow_up_of)
            .order_by(AgentTask.attempt)
        )
    )
    earlier = await session.get(AgentRequest, request.follow_up_of)
    chosen = earlier.chosen_attempt if earlier else None
    same = [t for t in rows if t.backend == backend and chosen in (None, t.attempt)]
    references = tuple(t.backend_task_id for t in same if t.backend_task_id)
    done = [t for t in same if t.state == m.COMPLETED and t.branch]
    return references, (done[0].branch if done else None)


async def load_job(rt: FeatureContext, task_id: int) -> Loaded | None:
    async with rt.sessions() as session:
        task = await session.get(AgentTask, task_id)
        request = await session.get(AgentRequest, task.request_id) if task else None
        if task is None or request is None:
            return None
        references, previous_branch = await _previous(session, request, task.backend)
    job = Job(
        task_id=task.id,
        request_id=request.id,
        attempt=task.attempt,
        attempts=request.attempts,
        context_id=request.context_id or f"opsbot-request-{request.id}",
        payload=request.sent_payload or request.instruction,
        instruction=request.instruction,
        repo=request.repo,
        base_branch=request.base_branch,
        branch=task.branch or f"opsbot/agent-{request.id}-{task.attempt}",
        requester=request.requester,
        backend_task_id=task.backend_task_id,
        pending_input=task.pending_input,
        reference_task_ids=references,
        previous_branch=previous_branch,
        thread_url=thread_url(request.team_id, request.channel, request.thread_ts),
        push_token=task.push_token,
        drive=task.drives,
    )
    return Loaded(state=task.state, backend=task.backend, job=job)
