"""The Agent2Agent backend: a remote agent spoken to with the `a2a-sdk` client.

The Slack thread is the A2A context, so follow-ups are new messages in the same context. The
task is streamed; after a restart it is read again (get_task) and re-subscribed to; cancel is
`cancel_task`; when the bot has a public URL the agent also pushes updates to `/agents/push`.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass

import httpx
from a2a.client import A2ACardResolver, A2AClientError, Client, ClientConfig, ClientFactory
from a2a.helpers import new_data_part, new_text_part
from a2a.types import (
    AgentCard,
    CancelTaskRequest,
    GetTaskRequest,
    ListTasksRequest,
    Message,
    Role,
    SendMessageConfiguration,
    SendMessageRequest,
    StreamResponse,
    SubscribeToTaskRequest,
    TaskPushNotificationConfig,
    TaskState,
)
from a2a.utils.errors import (
    A2AError,
    InternalError,
    MethodNotFoundError,
    TaskNotCancelableError,
    TaskNotFoundError,
    UnsupportedOperationError,
)

from bot.agents import models as m
from bot.agents.backends.a2a_events import RESTING, Tracker, forge_host
from bot.agents.backends.base import (
    BackendEnv,
    BackendRejected,
    BackendUnavailable,
    Emit,
    Job,
    Update,
)
from bot.agents.settings import AgentBackend
from bot.config import reveal
from bot.core.redaction import redact_payload, redact_text

log = logging.getLogger(__name__)

PUSH_PATH = "/agents/push"
# How the agent says it cannot list tasks: a v0.3 transport has no ListTasks, a server may
# not implement it. Anything else (a network error, an internal error) is not an answer.
CANNOT_LIST = (NotImplementedError, MethodNotFoundError, UnsupportedOperationError)
# Tasks looked through for an attempt's start message: pages of LIST_PAGE_SIZE in one thread.
LIST_PAGE_SIZE = 100
LIST_PAGES = 10
# Facts the agent needs verbatim (identifiers); the instruction is text and is redacted.
_VERBATIM_FACTS = frozenset({"repo", "base_branch", "branch", "requester"})


def create(config: AgentBackend, env: BackendEnv) -> A2ABackend:
    if not config.url:
        raise ValueError(f"agent backend {config.name!r} (a2a) needs a url")
    return A2ABackend(config, env)


def job_message(job: Job) -> Message:
    """A new task's first message: the labelled context as text, the facts as data. Both are
    redacted here, at egress, whatever redacted them before."""
    facts = {
        "instruction": job.instruction,
        "repo": job.repo,
        "base_branch": job.base_branch,
        "branch": job.branch,
        "attempt": job.attempt,
        "attempts": job.attempts,
        "requester": job.requester,
    }
    return Message(
        message_id=start_message_id(job),
        context_id=job.context_id,
        role=Role.ROLE_USER,
        parts=[
            new_text_part(redact_text(job.payload)),
            new_data_part(redact_payload(facts, keep=_VERBATIM_FACTS), "application/json"),
        ],
        reference_task_ids=list(job.reference_task_ids),
    )


def start_message_id(job: Job) -> str:
    """The same for every send of an attempt's first message, so the agent's task for it can be
    found again when the bot stopped between sending it and hearing the task's id."""
    return f"opsbot-{job.task_id}-start"


def answer_message(job: Job, text: str) -> Message:
    return Message(
        message_id=f"opsbot-{job.task_id}-{uuid.uuid4().hex[:8]}",
        context_id=job.context_id,
        task_id=job.backend_task_id or "",
        role=Role.ROLE_USER,
        parts=[new_text_part(redact_text(text))],
    )


@dataclass(frozen=True)
class Agent:
    """A connected client and the card the agent published (what it can do)."""

    client: Client
    card: AgentCard

    @property
    def streams(self) -> bool:
        return bool(self.card.capabilities.streaming)


class A2ABackend:
    poll_seconds = 2.0

    def __init__(self, config: AgentBackend, env: BackendEnv) -> None:
        self.name = config.name
        self.url = str(config.url)
        self.token = reveal(config.token)
        self.public_url = env.public_url
        self.forge = forge_host(env.agents.github_api_url)

    @asynccontextmanager
    async def _connect(self) -> AsyncIterator[Agent]:
        headers = {"Authorization": f"Bearer {self.token}"} if self.token else {}
        # Streams stay quiet while the agent thinks; only connecting must be quick.
        timeout = httpx.Timeout(30.0, read=600.0)
        async with httpx.AsyncClient(timeout=timeout, headers=headers) as http:
            try:
                card = await A2ACardResolver(http, self.url).get_agent_card()
            except A2AClientError as error:
                raise BackendUnavailable(self._describe(error)) from error
            client = ClientFactory(ClientConfig(streaming=True, httpx_client=http)).create(card)
            try:
                yield Agent(client, card)
            finally:
                await client.close()

    def _describe(self, error: Exception) -> str:
        message = getattr(error, "message", None) or str(error) or type(error).__name__
        return f"{self.url}: {message}"[:500]

    def _push_config(self, agent: Agent, job: Job) -> TaskPushNotificationConfig | None:
        if not (self.public_url and job.push_token and agent.card.capabilities.push_notifications):
            return None
        url = self.public_url.rstrip("/") + PUSH_PATH
        return TaskPushNotificationConfig(id="opsbot", url=url, token=job.push_token)

    async def drive(self, job: Job, emit: Emit) -> None:
        try:
            async with self._connect() as agent:
                started = None if job.backend_task_id else await self._started(agent, job)
                if started is not None:
                    await self._follow(agent, started, emit, Tracker(forge=self.forge))
                elif job.backend_task_id is None:
                    await self._send(agent, job, job_message(job), emit)
                elif job.pending_input is not None:
                    await self._send(agent, job, answer_message(job, job.pending_input), emit)
                else:
                    await self._follow(agent, job.backend_task_id, emit, Tracker(forge=self.forge))
        except (A2AClientError, InternalError) as error:
            # Network trouble and the agent's own internal errors are worth another try.
            raise BackendUnavailable(self._describe(error)) from error
        except A2AError as error:
            raise BackendRejected(self._describe(error)) from error

    async def _started(self, agent: Agent, job: Job) -> str | None:
        """The agent's task for this attempt's first message, when an earlier drive sent it.

        Sending is not idempotent: a crash after the agent got the message but before its
        task id was stored would otherwise start the work twice. The task is found by the
        message's fixed id among the thread's tasks (A2A ListTasks by context, each task with
        its whole history: a shorter one keeps the latest messages, not the first). Only an
        agent that cannot list gets the message sent without looking; any other failure ends
        the drive, to be retried.
        """
        wanted = start_message_id(job)
        token = ""
        for _ in range(LIST_PAGES):
            request = ListTasksRequest(
                context_id=job.context_id, page_size=LIST_PAGE_SIZE, page_token=token
            )
            try:
                page = await agent.client.list_tasks(request)
            except CANNOT_LIST as error:
                log.info("agents: %s cannot list tasks: %r", self.url, error)
                return None
            for task in page.tasks:
                if any(message.message_id == wanted for message in task.history):
                    return str(task.id)
            if not page.next_page_token:
                return None
            token = page.next_page_token
        log.warning(
            "agents: %s: no start message among the first %d tasks of %s",
            self.url,
            LIST_PAGES * LIST_PAGE_SIZE,
            job.context_id,
        )
        return None

    async def _send(self, agent: Agent, job: Job, message: Message, emit: Emit) -> None:
        configuration = SendMessageConfiguration(
            accepted_output_modes=["text/plain"],
            # Without streaming, get the task id at once and poll, rather than wait blind.
            return_immediately=not agent.streams,
        )
        push = self._push_config(agent, job)
        if push is not None:
            configuration.task_push_notification_config.CopyFrom(push)
        request = SendMessageRequest(message=message, configuration=configuration)
        tracker = Tracker(task_id=job.backend_task_id, forge=self.forge)
        answering = job.pending_input is not None
        async for event in agent.client.send_message(request):
            update = tracker.read(event)
            if answering:
                # The first event proves the agent has the answer.
                await emit(Update(state=m.WORKING, input_delivered=True))
                answering = False
            if await _record(update, emit):
                return
        # The stream closed early (or the agent does not stream): follow the task instead.
        if tracker.task_id is None:
            raise BackendUnavailable(f"{self.url}: the agent answered without creating a task")
        await self._follow(agent, tracker.task_id, emit, tracker)

    async def _follow(self, agent: Agent, task_id: str, emit: Emit, tracker: Tracker) -> None:
        """Read the task, then re-subscribe (or poll) until it finishes or asks for input."""
        tracker.task_id = task_id
        if await self._read(agent, task_id, emit, tracker):
            return
        if agent.streams:
            async for event in agent.client.subscribe(SubscribeToTaskRequest(id=task_id)):
                if await _record(tracker.read(event), emit):
                    return
            # The subscription can close right as the task ends; the task itself says how.
            if not await self._read(agent, task_id, emit, tracker):
                raise BackendUnavailable(f"{self.url}: the task stream ended while still running")
            return
        while not await self._read(agent, task_id, emit, tracker):  # noqa: ASYNC110 (polling)
            await asyncio.sleep(self.poll_seconds)

    async def _read(self, agent: Agent, task_id: str, emit: Emit, tracker: Tracker) -> bool:
        try:
            task = await agent.client.get_task(GetTaskRequest(id=task_id))
        except TaskNotFoundError as error:
            raise BackendRejected(f"the agent no longer knows task {task_id}") from error
        return await _record(tracker.read(StreamResponse(task=task)), emit)

    async def cancel(self, job: Job) -> None:
        if not job.backend_task_id:
            return
        try:
            async with self._connect() as agent:
                task = await agent.client.cancel_task(CancelTaskRequest(id=job.backend_task_id))
        except (TaskNotCancelableError, TaskNotFoundError):
            return  # already over: nothing left to stop
        except A2AClientError as error:
            raise BackendUnavailable(self._describe(error)) from error
        if task.status.state not in (TaskState.TASK_STATE_CANCELED, TaskState.TASK_STATE_FAILED):
            raise BackendRejected(f"the agent did not cancel task {job.backend_task_id}")


async def _record(update: Update | None, emit: Emit) -> bool:
    """Record one update; True once the task is over or waits for input."""
    if update is None:
        return False
    await emit(update)
    return update.state in RESTING
