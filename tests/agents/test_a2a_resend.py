"""A crash between sending a task to the agent and storing its id does not start it twice."""

from __future__ import annotations

from dataclasses import replace

import pytest

from bot.agents import models as m
from bot.agents.backends import create_backend
from bot.agents.backends.base import BackendEnv, Job, Update
from bot.config import AgentBackend, AgentsConfig
from bot.sandbox.agent_server import AgentServer


class Crashed(Exception):
    """The bot stopped before it could store what the agent said."""


def _job() -> Job:
    return Job(
        task_id=7, request_id=7, attempt=1, attempts=1, context_id="slack:C0DEV:1.1",
        payload="Fix the flaky login test.", instruction="fix the flaky login test",
        repo="octo-org/octo-repo", base_branch=None, branch="opsbot/agent-7-1", requester="U0BOB",
    )  # fmt: skip


async def test_a_second_drive_finds_the_task_the_first_one_started(agent: AgentServer) -> None:
    config = AgentBackend(name="sandbox", kind="a2a", url=agent.url)
    backend = create_backend(config, BackendEnv(agents=AgentsConfig(), public_url=None))

    async def crash(update: Update) -> None:
        raise Crashed  # as if the process died before the task id was committed

    with pytest.raises(Crashed):
        await backend.drive(_job(), crash)
    assert len(agent.received) == 1

    seen: list[Update] = []

    async def keep(update: Update) -> None:
        seen.append(update)

    # Nothing was stored: the next drive has no task id, exactly as after a restart.
    await backend.drive(replace(_job(), drive=2), keep)
    assert len(agent.received) == 1, "the task was sent to the agent a second time"
    assert any(u.backend_task_id for u in seen)
    assert seen[-1].state in (m.COMPLETED, m.INPUT_REQUIRED, m.WORKING)
