"""Who may see and control an agent task: the feature's declarations for the access policy."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Collection

from sqlalchemy.ext.asyncio import AsyncSession

from bot.agents.models import AgentRequest, AgentTask
from bot.core.access import (
    ADMINS,
    CHANNEL_READERS,
    EVERYONE,
    OWNERS,
    Check,
    RecordPolicy,
    Rule,
    Subject,
    record_id,
)

AGENT_REQUEST = "agent_request"
CONTROL = "cancel"
# The agents themselves, as a record another feature's control names when it hands them work
# (an incident follow-up sent to them): `START` is for whoever may start agent tasks.
AGENTS = "coding_agents"
AGENTS_REF = "agents"
START = "hand work to"


def can_control(user: str, requester: str, admins: Collection[str]) -> bool:
    """Cancel and follow-ups belong to the requester and the admins.

    The one definition: the gate's `CONTROL` rule asks it for buttons, and the intake asks it
    for a follow-up in a thread (an event, which no gate sees).
    """
    return user == requester or user in admins


class _Controllers(Rule):
    description = "{owners} (who asked) or an admin"

    def __init__(self, admins: Callable[[], Collection[str]]) -> None:
        self.admins = admins

    async def allows(self, check: Check) -> bool:
        user = check.actor.user
        return any(
            can_control(user, requester, self.admins()) for requester in check.subject.owners
        )


def record_policy(admins: Callable[[], Collection[str]]) -> RecordPolicy:
    """A task is seen by those who read the channel it came from; controlled by its requester
    (`owners`) and the admins."""

    async def load(session: AsyncSession, ref: str) -> Subject | None:
        number = record_id(ref)
        request = await session.get(AgentRequest, number) if number is not None else None
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
        see=ADMINS | OWNERS | CHANNEL_READERS,
        verbs={CONTROL: _Controllers(admins)},
        missing="That agent task no longer exists.",
    )


async def request_of_task(session: AsyncSession, task_id: int) -> int | None:
    task = await session.get(AgentTask, task_id)
    return task.request_id if task else None


class _Starters(Rule):
    description = "the people `agents.allowed_users` lists, or an admin,"

    def __init__(self, may_start: Callable[[str], Awaitable[bool]]) -> None:
        self.may_start = may_start

    async def allows(self, check: Check) -> bool:
        return check.actor.admin or await self.may_start(check.actor.user)


def starters_policy(may_start: Callable[[str], Awaitable[bool]]) -> RecordPolicy:
    """Who may hand the agents work from another feature's control: the people who may start
    an agent task from a thread (`may_start`: the allow-list, its user groups, the admins)."""

    async def load(session: AsyncSession, ref: str) -> Subject | None:
        return Subject(AGENTS, ref, "the coding agents") if ref == AGENTS_REF else None

    return RecordPolicy(
        AGENTS,
        load,
        see=EVERYONE,
        verbs={START: _Starters(may_start)},
        missing="There are no such agents.",
    )
