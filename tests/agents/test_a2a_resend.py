"""A crash between sending a task to the agent and storing its id does not start it twice."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import replace
from typing import Any

import pytest
from a2a.client import A2AClientError
from a2a.client.base_client import BaseClient
from a2a.helpers import get_message_text
from a2a.types import ListTasksRequest, ListTasksResponse
from a2a.utils.errors import MethodNotFoundError, UnsupportedOperationError
from google.protobuf.json_format import MessageToDict

from bot.agents import models as m
from bot.agents.backends import create_backend
from bot.agents.backends.a2a import A2ABackend, job_message
from bot.agents.backends.base import BackendEnv, BackendUnavailable, Job, Update
from bot.agents.settings import AgentBackend, AgentsConfig
from bot.sandbox.agent_server import AgentServer


class Crashed(Exception):
    """The bot stopped before it could store what the agent said."""


def _job() -> Job:
    return Job(
        task_id=7, request_id=7, attempt=1, attempts=1, context_id="slack:C0DEV:1.1",
        payload="Fix the flaky login test.", instruction="fix the flaky login test",
        repo="octo-org/octo-repo", base_branch=None, branch="opsbot/agent-7-1", requester="U0BOB",
    )  # fmt: skip


def _backend(agent: AgentServer) -> A2ABackend:
    config = AgentBackend(name="sandbox", kind="a2a", url=agent.url)
    backend = create_backend(config, BackendEnv(agents=AgentsConfig(), public_url=None))
    assert isinstance(backend, A2ABackend)
    return backend


async def _keep(seen: list[Update]) -> Callable[[Update], Awaitable[None]]:
    async def keep(update: Update) -> None:
        seen.append(update)

    return keep


async def test_a_second_drive_finds_the_task_the_first_one_started(agent: AgentServer) -> None:
    backend = _backend(agent)

    async def crash(update: Update) -> None:
        raise Crashed  # as if the process died before the task id was committed

    with pytest.raises(Crashed):
        await backend.drive(_job(), crash)
    assert len(agent.received) == 1

    seen: list[Update] = []
    # Nothing was stored: the next drive has no task id, exactly as after a restart.
    await backend.drive(replace(_job(), drive=2), await _keep(seen))
    assert len(agent.received) == 1, "the task was sent to the agent a second time"
    assert any(u.backend_task_id for u in seen)
    assert seen[-1].state in (m.COMPLETED, m.INPUT_REQUIRED, m.WORKING)


@pytest.mark.parametrize(
    "cannot",
    [
        NotImplementedError("ListTasks is not available in A2A v0.3"),
        MethodNotFoundError(),
        UnsupportedOperationError(),
    ],
    ids=["v0.3 transport", "method not found", "unsupported operation"],
)
async def test_an_agent_that_cannot_list_tasks_gets_the_task_once(
    agent: AgentServer, monkeypatch: pytest.MonkeyPatch, cannot: Exception
) -> None:
    async def list_tasks(self: BaseClient, request: ListTasksRequest, **_: Any) -> None:
        raise cannot

    monkeypatch.setattr(BaseClient, "list_tasks", list_tasks)
    seen: list[Update] = []
    await _backend(agent).drive(_job(), await _keep(seen))
    assert len(agent.received) == 1
    assert any(u.backend_task_id for u in seen)


async def test_a_failed_look_for_the_task_sends_nothing(
    agent: AgentServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Not knowing whether the agent has the task is not knowing it has not: try again later."""

    async def list_tasks(self: BaseClient, request: ListTasksRequest, **_: Any) -> None:
        raise A2AClientError("connection reset by peer")

    monkeypatch.setattr(BaseClient, "list_tasks", list_tasks)
    seen: list[Update] = []
    with pytest.raises(BackendUnavailable):
        await _backend(agent).drive(_job(), await _keep(seen))
    assert agent.received == [] and seen == []


async def test_the_start_message_is_found_beyond_the_first_page(
    agent: AgentServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The thread's other tasks come first; the look goes on page after page."""
    backend = _backend(agent)

    async def crash(update: Update) -> None:
        raise Crashed

    with pytest.raises(Crashed):
        await backend.drive(_job(), crash)
    real = BaseClient.list_tasks
    asked: list[ListTasksRequest] = []

    async def paged(self: BaseClient, request: ListTasksRequest, **kwargs: Any) -> Any:
        asked.append(request)
        assert not request.HasField("history_length"), "a short history can drop the start"
        if len(asked) < 3:  # two pages of someone else's tasks
            return ListTasksResponse(next_page_token=f"page-{len(asked) + 1}")
        first = ListTasksRequest()
        first.CopyFrom(request)
        first.ClearField("page_token")  # the agent's own first page holds the task
        return await real(self, first, **kwargs)

    monkeypatch.setattr(BaseClient, "list_tasks", paged)
    seen: list[Update] = []
    await backend.drive(replace(_job(), drive=2), await _keep(seen))
    assert len(agent.received) == 1, "the task was sent to the agent a second time"
    assert [request.page_token for request in asked] == ["", "page-2", "page-3"]


def test_the_start_message_is_redacted_at_egress() -> None:
    token = "ghp_" + "R7d" * 12
    job = replace(
        _job(), payload=f"Fix it; the token is {token}", instruction=f"use {token} to deploy"
    )
    message = job_message(job)
    sent = repr(MessageToDict(message)) + get_message_text(message)
    assert token not in sent and sent.count("[REDACTED:github_token]") >= 2
    facts = MessageToDict(message)["parts"][1]["data"]
    assert facts["repo"] == "octo-org/octo-repo" and facts["branch"] == "opsbot/agent-7-1"
