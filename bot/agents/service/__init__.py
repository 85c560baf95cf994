"""The rules of the agents feature: requests, attempts and their lifecycle (no Slack, no HTTP).

The rest of the rules, by sub-domain: `access` (who may see and control a task), `parsing`
(reading a hand-off), `context` (what the agent is sent), `queries` (read-only questions),
`jobs` (from rows to a backend's job), `loaders` (the state each view renders), `watching` (the
rows each view is drawn from), `push` (what a push notification does to its task) and `handoff`
(work another feature prepares for the agents, and CI results on the attempts' branches). Other
features read this module only: it re-exports what they use.
"""

from __future__ import annotations

import secrets
from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.agents import models as m
from bot.agents.backends.base import Update
from bot.agents.models import CANCELING, COMPLETED, TERMINAL, AgentRequest, AgentTask
from bot.agents.service.access import AGENT_REQUEST, AGENTS, AGENTS_REF, START, can_control
from bot.agents.service.handoff import (  # what a CI breakage's card hands over, and back
    HANDOFF,
    AttemptBrief,
    BranchRun,
    Handoff,
    all_finished,
    attempt_of_branch,
    attempts_of,
    default_repo,
    hand_off,
    handoff_choices,
    handoff_repo,
    known_repos,
    record_branch_run,
)
from bot.agents.service.parsing import Spec
from bot.agents.service.queries import (  # what digests and App Home read, through this module
    TaskBrief,
    active,
    count_by_state,
    failures,
    prs_opened,
    recent_in_channel,
    tasks_for_user,
)
from bot.agents.service.watchers import (  # what a view showing a hand-off reads and watches
    RequestBrief,
    WatchedPr,
    request_briefs,
    request_watches,
    watched_prs_between,
)
from bot.core import tasks
from bot.core.db import utcnow

__all__ = [
    # Tables other features' views watch (App Home).
    "AgentRequest",
    "AgentTask",
    "AGENT_REQUEST",
    "AGENTS",
    "AGENTS_REF",
    "START",
    "RequestBrief",
    "WatchedPr",
    "request_briefs",
    "request_watches",
    "watched_prs_between",
    "default_repo",
    "known_repos",
    "HANDOFF",
    "AttemptBrief",
    "BranchRun",
    "Handoff",
    "all_finished",
    "attempt_of_branch",
    "attempts_of",
    "hand_off",
    "handoff_choices",
    "handoff_repo",
    "record_branch_run",
    "can_control",
    "CANCELING",
    "COMPLETED",
    "TERMINAL",
    "TaskBrief",
    "active",
    "count_by_state",
    "failures",
    "prs_opened",
    "recent_in_channel",
    "tasks_for_user",
]
CARD = "agents.card"
PARENT = "agents.request"
QUESTION = "agents.question"
RESULT = "agents.result"
COMPARISON = "agents.comparison"
TASK_PREPARE = "agents.prepare"
TASK_DRIVE = "agents.drive"
TASK_CANCEL = "agents.cancel"
TASK_FILES = "agents.files"  # the patch and the transcript, posted in the thread
CANCEL_ACTION = "agents.cancel"  # the card's Cancel button, also shown on App Home
MAX_STEP = 500
MAX_QUESTION = 3000


class AgentError(Exception):
    """A refusal to show the person who asked (ephemeral)."""


def branch_name(request_id: int, attempt: int) -> str:
    return f"opsbot/agent-{request_id}-{attempt}"


async def create_request(
    session: AsyncSession,
    spec: Spec,
    *,
    channel: str,
    thread_ts: str | None,
    message_ts: str | None,
    requester: str,
    source: str,
    follow_up_of: int | None = None,
    context_id: str | None = None,
) -> AgentRequest:
    """The request, one task per attempt, their cards, and the durable preparation step."""
    request = AgentRequest(
        channel=channel,
        thread_ts=thread_ts,
        message_ts=message_ts,
        requester=requester,
        source=source,
        instruction=spec.instruction,
        repo=spec.repo,
        base_branch=spec.base_branch,
        backend=spec.backend,
        attempts=spec.attempts,
        follow_up_of=follow_up_of,
        context_id=context_id,
        created_at=utcnow(),
    )
    session.add(request)
    await session.flush()
    for attempt in range(1, spec.attempts + 1):
        task = AgentTask(
            request_id=request.id,
            attempt=attempt,
            backend=spec.backend,
            state=m.QUEUED,
            branch=branch_name(request.id, attempt),
            push_token=secrets.token_urlsafe(24),
            asked=[],
            created_at=utcnow(),
            updated_at=utcnow(),
        )
        session.add(task)
    await tasks.enqueue(
        session, TASK_PREPARE, {"request_id": request.id}, key=f"{TASK_PREPARE}:{request.id}"
    )
    return request


async def request_tasks(session: AsyncSession, request_id: int) -> list[AgentTask]:
    rows = await session.scalars(
        select(AgentTask).where(AgentTask.request_id == request_id).order_by(AgentTask.attempt)
    )
    return list(rows)


async def thread_requests(
    session: AsyncSession, channel: str, thread_ts: str
) -> list[AgentRequest]:
    """Requests made in one thread, newest first."""
    rows = await session.scalars(
        select(AgentRequest)
        .where(AgentRequest.channel == channel, AgentRequest.thread_ts == thread_ts)
        .order_by(AgentRequest.id.desc())
    )
    return list(rows)


async def tasks_in_thread(
    session: AsyncSession, channel: str, thread_ts: str, states: Sequence[str] | None = None
) -> list[tuple[AgentTask, AgentRequest]]:
    query = (
        select(AgentTask, AgentRequest)
        .join(AgentRequest, AgentRequest.id == AgentTask.request_id)
        .where(AgentRequest.channel == channel, AgentRequest.thread_ts == thread_ts)
        .order_by(AgentTask.id)
    )
    if states is not None:
        query = query.where(AgentTask.state.in_(list(states)))
    return [(task, request) for task, request in (await session.execute(query)).all()]


async def store_context(
    session: AsyncSession,
    request_id: int,
    *,
    thread_ts: str,
    context_id: str,
    payload: str,
    meta: dict[str, object],
) -> AgentRequest | None:
    """Record exactly what will be sent, once, then let every attempt start."""
    request = await session.get(AgentRequest, request_id, with_for_update=True)
    if request is None:
        return None
    if request.sent_payload is None:
        request.thread_ts = request.thread_ts or thread_ts
        request.context_id = request.context_id or context_id
        request.sent_payload = payload
        request.sent_meta = meta
    for task in await request_tasks(session, request_id):
        if task.state == m.QUEUED:
            await enqueue_drive(session, task.id, task.drives, "start")
    return request


async def enqueue_drive(session: AsyncSession, task_id: int, generation: int, reason: str) -> None:
    """Wake a runner for the task. Repeated wake-ups for one reason within one drive
    generation are a single durable task; a wake-up that finds the task driven is a no-op."""
    key = f"{TASK_DRIVE}:{task_id}:{generation}:{reason}"
    await tasks.enqueue(session, TASK_DRIVE, {"task_id": task_id}, key=key)


async def _locked(session: AsyncSession, task_id: int) -> AgentTask | None:
    return await session.get(AgentTask, task_id, with_for_update=True, populate_existing=True)


async def apply_update(session: AsyncSession, task_id: int, change: Update) -> AgentTask | None:
    """Fold one backend update into the task; a finished task is never changed again."""
    task = await _locked(session, task_id)
    if task is None:
        return None
    if change.backend_task_id and not task.backend_task_id:
        # Kept even after a cancel, so the backend's task can still be told to stop.
        task.backend_task_id = change.backend_task_id
    if task.state in m.TERMINAL:
        return task
    if change.branch:
        task.branch = change.branch
    if change.input_delivered:
        task.pending_input = None
    if change.step:
        task.latest_step = change.step[:MAX_STEP]
    if not change.error:
        task.backend_errors = 0  # the backend answered: the retry budget starts over
    task.updated_at = utcnow()
    if task.state == m.CANCELING and change.state not in m.TERMINAL:
        return task
    if change.state:
        await _enter(session, task, change)
    return task


async def _enter(session: AsyncSession, task: AgentTask, change: Update) -> None:
    state = change.state or task.state
    if state in (m.SUBMITTED, m.WORKING) and task.started_at is None:
        task.started_at = utcnow()
    if state != m.INPUT_REQUIRED:
        task.question = None
    if state == m.INPUT_REQUIRED and task.state != m.INPUT_REQUIRED:
        task.question = (change.question or "The agent needs more input.")[:MAX_QUESTION]
        task.asked = [*(task.asked or []), task.question]
    task.state = state
    if change.outcome is not None:
        outcome = change.outcome
        task.summary = outcome.summary or task.summary
        if outcome.pr_url and not task.pr_url:
            task.pr_opened_at = utcnow()
        task.pr_url = outcome.pr_url or task.pr_url
        task.branch = outcome.branch or task.branch
        task.diff_stat = outcome.diff_stat or task.diff_stat
        task.diff_preview = outcome.diff_preview or task.diff_preview
        task.patch = outcome.patch or task.patch
        task.transcript = outcome.transcript or task.transcript
        task.files_changed = _first(outcome.files_changed, task.files_changed)
        task.lines_added = _first(outcome.lines_added, task.lines_added)
        task.lines_removed = _first(outcome.lines_removed, task.lines_removed)
        task.tests = outcome.tests or task.tests
    if change.error:
        task.error = change.error
    if state in m.TERMINAL:
        await _finished(session, task)


def _first(value: int | None, fallback: int | None) -> int | None:
    return value if value is not None else fallback


async def _finished(session: AsyncSession, task: AgentTask) -> None:
    task.finished_at = utcnow()
    task.pending_input = None
    task.lease_owner = None
    task.lease_expires = None
    # Locking the request serialises attempts finishing together. The task's end is flushed
    # only once the lock is held, so the comparison's watch, which runs on that flush, sees every
    # attempt that finished before: the last one to commit asks for it (exactly one of them does).
    with session.no_autoflush:
        await session.get(AgentRequest, task.request_id, with_for_update=True)
    await session.flush()
    # Only now: enqueueing writes, and a write flushed before the lock would end this task
    # unseen by an attempt finishing at the same moment (no comparison would be posted).
    if task.state == m.COMPLETED and (task.patch or task.transcript):
        key = f"{TASK_FILES}:{task.id}"
        await tasks.enqueue(session, TASK_FILES, {"task_id": task.id}, key=key)


async def fail(session: AsyncSession, task_id: int, error: str) -> AgentTask | None:
    return await apply_update(session, task_id, Update(state=m.FAILED, error=error))


async def fail_request(session: AsyncSession, request_id: int, error: str) -> None:
    for task in await request_tasks(session, request_id):
        await fail(session, task.id, error)


async def note_backend_error(session: AsyncSession, task_id: int, error: str) -> int:
    """Count a failed contact with the backend; the caller gives up after a bounded number."""
    task = await _locked(session, task_id)
    if task is None:
        return 0
    task.backend_errors += 1
    task.latest_step = f"Backend unreachable, retrying ({task.backend_errors}): {error}"[:MAX_STEP]
    return task.backend_errors


async def request_cancel(
    session: AsyncSession, task_id: int, user: str, admins: Sequence[str]
) -> AgentTask:
    """Stop a task on behalf of `user`, who must be its requester or an admin."""
    task = await _locked(session, task_id)
    request = await session.get(AgentRequest, task.request_id) if task else None
    if task is None or request is None:
        raise AgentError("That agent task no longer exists.")
    if not can_control(user, request.requester, admins):
        raise AgentError(
            f"Only <@{request.requester}> (who asked) or an admin can cancel this agent task."
        )
    if task.state in m.TERMINAL:
        raise AgentError(f"This agent task is already {task.state}.")
    if task.state == m.CANCELING:
        return task
    task.canceled_by = user
    task.state = m.CANCELING
    task.latest_step = "Cancel requested"
    task.updated_at = utcnow()
    await tasks.enqueue(session, TASK_CANCEL, {"task_id": task.id}, key=f"{TASK_CANCEL}:{task.id}")
    return task


async def finish_cancel(session: AsyncSession, task_id: int) -> AgentTask | None:
    return await apply_update(
        session, task_id, Update(state=m.CANCELED, step="Canceled", error=None)
    )


async def record_answer(session: AsyncSession, task_id: int, text: str) -> AgentTask | None:
    """The requester's reply to the agent's question; a drive delivers it."""
    task = await _locked(session, task_id)
    if task is None or task.state != m.INPUT_REQUIRED:
        return None
    task.pending_input = text
    task.state = m.WORKING
    task.question = None
    task.latest_step = "Answer received, passing it to the agent"
    task.updated_at = utcnow()
    await enqueue_drive(session, task.id, task.drives, "answer")
    return task


async def drivable_ids(session: AsyncSession, limit: int = 100) -> list[tuple[int, int]]:
    """(task id, drive generation) of started tasks that need a runner and have none."""
    now = utcnow()
    lease_free = AgentTask.lease_owner.is_(None) | (AgentTask.lease_expires < now)
    rows = await session.execute(
        select(AgentTask.id, AgentTask.drives)
        .where(AgentTask.state.in_(list(m.DRIVABLE)), lease_free)
        .order_by(AgentTask.id)
        .limit(limit)
    )
    return [(row[0], row[1]) for row in rows]


async def begin_drive(session: AsyncSession, task_id: int) -> AgentTask | None:
    """A new drive generation for a task this replica now holds the lease on."""
    task = await _locked(session, task_id)
    if task is None:
        return None
    task.drives += 1
    if task.state == m.QUEUED:
        # From here a crash leaves a started task, which the recovery sweep picks up.
        task.state = m.SUBMITTED
        task.latest_step = "Starting"
        task.started_at = task.started_at or utcnow()
    return task
