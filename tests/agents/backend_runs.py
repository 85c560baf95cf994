"""Driving one backend directly, outside Slack: the job of one attempt, and what it reported."""

from __future__ import annotations

from bot.agents.backends import create_backend
from bot.agents.backends.base import BackendEnv, Job, Update
from bot.agents.settings import AgentsConfig

REPO = "octo-org/octo-repo"


def job(
    task: int = 1, instruction: str = "Make the login test retry twice.", payload: str = ""
) -> Job:
    """Attempt 1 of request `task`, on branch opsbot/agent-<task>-1."""
    return Job(
        task_id=task,
        request_id=task,
        attempt=1,
        attempts=1,
        context_id="ctx",
        payload=payload or instruction,
        instruction=instruction,
        repo=REPO,
        base_branch=None,
        branch=f"opsbot/agent-{task}-1",
        requester="U0BOB",
    )


async def drive(agents: AgentsConfig, attempt: Job) -> list[Update]:
    """Run the first configured backend on `attempt`; every update it emitted."""
    backend = create_backend(agents.backends[0], BackendEnv(agents=agents, public_url=None))
    updates: list[Update] = []

    async def emit(update: Update) -> None:
        updates.append(update)

    await backend.drive(attempt, emit)
    return updates
