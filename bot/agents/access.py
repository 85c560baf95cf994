"""Who may see and control an agent task: the feature's declarations for the access policy."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from bot.agents.models import AgentRequest, AgentTask
from bot.core.access import ADMINS, CHANNEL_READERS, OWNERS, RecordPolicy, Subject

AGENT_REQUEST = "agent_request"
CONTROL = "cancel"


def record_policy() -> RecordPolicy:
    """A task is seen by those who read the channel it came from; controlled by its requester."""

    async def load(session: AsyncSession, ref: str) -> Subject | None:
        request = await session.get(AgentRequest, int(ref)) if ref.isdigit() else None
        if request is None:
            return None
        return Subject(
            AGENT_REQUEST,
            ref,
            "this agent task",
            channel=request.channel,
            owners=frozenset({request.requester}),
        )

    return RecordPolicy(
        AGENT_REQUEST,
        load,
        see=CHANNEL_READERS | OWNERS | ADMINS,
        verbs={CONTROL: (OWNERS | ADMINS).named("{owners} (who asked) or an admin")},
        missing="That agent task no longer exists.",
    )


async def request_of_task(session: AsyncSession, task_id: int) -> int | None:
    task = await session.get(AgentTask, task_id)
    return task.request_id if task else None
