"""A small real A2A agent (built with a2a-sdk) that edits a local git repository.

It stands in for a remote coding agent in tests and in `opsbot demo`: it streams progress
steps, asks a question when the instruction contains `ask:` and carries on with the answer,
fails when it contains `fail:`, commits its edit on the task's branch, and returns the diff as
an artifact with the counts (files, lines added and removed, tests). It runs in-process on
loopback (uvicorn, random port) and records every message it receives for assertions.
"""

from __future__ import annotations

import asyncio
import re
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
from a2a.helpers import get_data_parts, get_text_parts, new_data_part, new_task_from_user_message
from a2a.server.agent_execution import AgentExecutor, RequestContext
from a2a.server.events import EventQueue
from a2a.server.request_handlers import DefaultRequestHandler
from a2a.server.routes import (
    add_a2a_routes_to_fastapi,
    create_agent_card_routes,
    create_jsonrpc_routes,
)
from a2a.server.tasks import (
    BasePushNotificationSender,
    InMemoryPushNotificationConfigStore,
    InMemoryTaskStore,
    TaskUpdater,
)
from a2a.types import (
    AgentCapabilities,
    AgentCard,
    AgentInterface,
    AgentSkill,
    Part,
)
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from bot.sandbox.agent_git import edit_on_branch
from bot.sandbox.embedded import Embedded

_ASK = re.compile(r"ask:\s*(.+?)(?:$|\n)", re.IGNORECASE)
_FAIL = re.compile(r"fail:\s*(.+?)(?:$|\n)", re.IGNORECASE)


@dataclass
class Received:
    """One message as the agent got it."""

    context_id: str
    task_id: str
    text: str
    data: dict[str, Any]
    reference_task_ids: list[str]


@dataclass
class Plan:
    instruction: str
    branch: str
    base: str | None
    attempt: int
    answers: list[str] = field(default_factory=list)


class SandboxExecutor(AgentExecutor):
    def __init__(self, repo: Path, step_delay: float) -> None:
        self.repo = repo
        self.trees = Path(tempfile.mkdtemp(prefix="sandbox-agent-"))
        self.step_delay = step_delay
        self.received: list[Received] = []
        self.plans: dict[str, Plan] = {}
        self.states: dict[str, str] = {}
        # Tests hold an edit here (clear it) to cancel or restart around a busy agent.
        self.gate = asyncio.Event()
        self.gate.set()
        self.waiting = asyncio.Event()
        self._git_lock = asyncio.Lock()

    def _record(self, context: RequestContext) -> Received:
        message = context.message
        assert message is not None
        data = next((d for d in get_data_parts(message.parts) if isinstance(d, dict)), {})
        received = Received(
            context_id=context.context_id or "",
            task_id=context.task_id or "",
            text="\n".join(get_text_parts(message.parts)),
            data=data,
            reference_task_ids=list(message.reference_task_ids),
        )
        self.received.append(received)
        return received

    async def execute(self, context: RequestContext, event_queue: EventQueue) -> None:
        received = self._record(context)
        task_id, context_id = context.task_id or "", context.context_id or ""
        updater = TaskUpdater(event_queue, task_id, context_id)
        if context.current_task is None:
            assert context.message is not None
            await event_queue.enqueue_event(new_task_from_user_message(context.message))
            self.plans[task_id] = _plan(received, task_id)
        else:
            self.plans[task_id].answers.append(received.text.strip())
        self.states[task_id] = "working"
        await self._work(self.plans[task_id], updater, task_id)

    async def _step(self, updater: TaskUpdater, text: str) -> None:
        await updater.start_work(updater.new_agent_message([Part(text=text)]))
        await asyncio.sleep(self.step_delay)

    async def _work(self, plan: Plan, updater: TaskUpdater, task_id: str) -> None:
        await self._step(updater, "Reading the request and the thread")
        question = _ASK.search(plan.instruction)
        if question and not plan.answers:
            self.states[task_id] = "input_required"
            await updater.requires_input(updater.new_agent_message([Part(text=question.group(1))]))
            return
        failure = _FAIL.search(plan.instruction)
        if failure:
            self.states[task_id] = "failed"
            await updater.failed(updater.new_agent_message([Part(text=failure.group(1))]))
            return
        await self._step(updater, f"Creating branch {plan.branch}")
        self.waiting.set()
        await self.gate.wait()
        target = _target(plan)
        await self._step(updater, f"Editing {target}")
        change = await edit_on_branch(
            self.repo,
            self.trees,
            plan.branch,
            plan.base,
            _edits(plan, target),
            plan.instruction.splitlines()[0][:72] or "Agent change",
            self._git_lock,
        )
        await self._step(updater, "Running the tests: 3 passed")
        await updater.add_artifact(
            [
                Part(text=change.diff, media_type="text/x-diff", filename="changes.diff"),
                new_data_part(
                    {
                        "branch": change.branch,
                        "files_changed": len(change.files),
                        "lines_added": change.added,
                        "lines_removed": change.removed,
                        "tests": "3 passed",
                    }
                ),
            ],
            name="diff",
        )
        self.states[task_id] = "completed"
        summary = f"Updated {target} on branch {change.branch} ({change.added} lines added)."
        await updater.complete(updater.new_agent_message([Part(text=summary)]))

    async def cancel(self, context: RequestContext, event_queue: EventQueue) -> None:
        task_id = context.task_id or ""
        self.states[task_id] = "canceled"
        updater = TaskUpdater(event_queue, task_id, context.context_id or "")
        await updater.cancel(updater.new_agent_message([Part(text="Stopped on request")]))


def _plan(received: Received, task_id: str) -> Plan:
    data = received.data
    return Plan(
        instruction=str(data.get("instruction") or received.text),
        branch=str(data.get("branch") or f"agent/{task_id[:8]}"),
        base=str(data["base_branch"]) if data.get("base_branch") else None,
        attempt=int(data.get("attempt") or 1),
    )


def _target(plan: Plan) -> str:
    """The file to edit: the answer when it names one, else NOTES.md."""
    for answer in plan.answers:
        word = answer.split()[0] if answer.split() else ""
        if re.fullmatch(r"[\w./-]+\.\w+", word) and ".." not in word:
            return word
    return "NOTES.md"


def _edits(plan: Plan, target: str) -> dict[str, list[str]]:
    # Attempts differ on purpose so a comparison has something to compare.
    lines = [f"- {plan.instruction.splitlines()[0]}"]
    lines += [f"  - detail {n} from attempt {plan.attempt}" for n in range(1, plan.attempt)]
    return {target: lines}


class _SwitchableTransport(httpx.AsyncBaseTransport):
    """Push notifications go wherever the current bot listens (tests restart the bot)."""

    def __init__(self) -> None:
        self.target: httpx.AsyncBaseTransport | None = None
        self._default = httpx.AsyncHTTPTransport()

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        return await (self.target or self._default).handle_async_request(request)


def agent_card(url: str, streaming: bool = True) -> AgentCard:
    return AgentCard(
        name="Sandbox coding agent",
        description="Edits a local git repository on a branch and returns the diff.",
        version="1.0.0",
        supported_interfaces=[
            AgentInterface(url=url, protocol_binding="JSONRPC", protocol_version="1.0")
        ],
        capabilities=AgentCapabilities(streaming=streaming, push_notifications=True),
        default_input_modes=["text/plain", "application/json"],
        default_output_modes=["text/plain", "text/x-diff", "application/json"],
        skills=[
            AgentSkill(
                id="edit-repo",
                name="Edit the repository",
                description="Makes a small commit on a branch for an instruction.",
                tags=["git", "code"],
            )
        ],
    )


class AgentServer:
    """The sandbox agent served over HTTP from the current event loop."""

    def __init__(
        self,
        repo: Path,
        *,
        token: str | None = None,
        step_delay: float = 0.02,
        streaming: bool = True,
    ) -> None:
        self.repo = repo
        self.token = token
        self.streaming = streaming
        self.executor = SandboxExecutor(repo, step_delay)
        self.push = _SwitchableTransport()
        self.serving = Embedded()
        self.host, self.port = self.serving.host, self.serving.port
        self._handler: DefaultRequestHandler | None = None

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}/"

    @property
    def received(self) -> list[Received]:
        return self.executor.received

    def push_to(self, transport: httpx.AsyncBaseTransport | None) -> None:
        """Deliver push notifications through `transport` (e.g. a bot's ASGI app)."""
        self.push.target = transport

    def build_app(self) -> FastAPI:
        card = agent_card(self.url, self.streaming)
        configs = InMemoryPushNotificationConfigStore()
        self._handler = DefaultRequestHandler(
            agent_executor=self.executor,
            task_store=InMemoryTaskStore(),
            agent_card=card,
            push_config_store=configs,
            push_sender=BasePushNotificationSender(httpx.AsyncClient(transport=self.push), configs),
        )
        app = FastAPI(docs_url=None, redoc_url=None, openapi_url=None)
        if self.token:
            app.middleware("http")(self._check_token)
        add_a2a_routes_to_fastapi(
            app,
            agent_card_routes=create_agent_card_routes(card),
            jsonrpc_routes=create_jsonrpc_routes(self._handler, rpc_url="/"),
        )
        return app

    async def _check_token(self, request: Request, call_next: Any) -> Any:
        if request.url.path.startswith("/.well-known/"):
            return await call_next(request)
        if request.headers.get("authorization") != f"Bearer {self.token}":
            return JSONResponse({"error": "unauthorized"}, status_code=401)
        return await call_next(request)

    async def start(self) -> AgentServer:
        await self.serving.start(self.build_app())
        return self

    async def stop(self) -> None:
        self.executor.gate.set()
        if self._handler is not None:
            await self._handler.aclose()
        await self.serving.stop(force=True)

    async def __aenter__(self) -> AgentServer:
        return await self.start()

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()
