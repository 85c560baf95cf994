"""App Home sections, each read through its own feature's public functions.

One small adapter per section; a renamed function over there is a one-line fix here. Everything
personal is asked for by user id, so a person's home holds only what is theirs: incidents they
reported or hold a role in, agent tasks they asked for, standups they take part in. CI state and
the code red banner are workspace-wide by nature.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from fnmatch import fnmatch

from sqlalchemy.ext.asyncio import AsyncSession

from bot.agents import service as agents
from bot.ci import service as ci
from bot.codered import service as codered
from bot.config import CiRoute
from bot.incidents import service as incidents
from bot.standups import service as standups

AGENT_CANCEL_ACTION = agents.CANCEL_ACTION  # the agent feature's handler checks the rights
STANDUP_WRITE_ACTION = standups.WRITE_ACTION
TASK_LIMIT = 8
INCIDENT_LIMIT = 10
PIPELINE_LIMIT = 25


@dataclass(frozen=True)
class Banner:
    level: str
    focus: str
    owner: str
    channel: str | None
    since: dt.datetime


@dataclass(frozen=True)
class IncidentLine:
    number: int  # as people know it: counted within the workspace
    title: str
    severity: str
    status: str
    channel: str | None
    roles: tuple[str, ...]
    reporter: bool
    declared_at: dt.datetime


@dataclass(frozen=True)
class TaskLine:
    task_id: int
    state: str
    repo: str
    instruction: str
    pr_url: str | None
    error: str | None
    channel: str
    thread_ts: str | None
    cancellable: bool


@dataclass(frozen=True)
class StandupLine:
    name: str
    channel: str | None
    prompt_at: dt.datetime
    cutoff_at: dt.datetime
    status: str
    run_id: int | None


@dataclass(frozen=True)
class PipelineLine:
    repo: str
    branch: str
    workflow: str
    state: str
    since: dt.datetime | None
    muted_until: dt.datetime | None


async def banner(session: AsyncSession) -> Banner | None:
    current = await codered.active(session)
    if current is None:
        return None
    return Banner(current.level, current.focus, current.owner, current.channel, current.level_since)


async def my_incidents(session: AsyncSession, user: str) -> list[IncidentLine]:
    found = await incidents.open_incidents_for(session, user)
    return [
        IncidentLine(
            number=summary.number,
            title=summary.title,
            severity=summary.severity,
            status=summary.status,
            channel=summary.channel_id,
            roles=tuple(roles),
            reporter=summary.reporter_id == user,
            declared_at=summary.declared_at,
        )
        for summary, roles in found[:INCIDENT_LIMIT]
    ]


async def my_tasks(session: AsyncSession, user: str) -> list[TaskLine]:
    found = await agents.tasks_for_user(session, user, limit=TASK_LIMIT)
    closed = set(agents.TERMINAL) | {agents.CANCELING}
    return [
        TaskLine(
            task_id=task.task_id,
            state=task.state,
            repo=task.repo,
            instruction=task.instruction,
            pr_url=task.pr_url,
            error=task.error,
            channel=task.channel,
            thread_ts=task.thread_ts,
            cancellable=task.state not in closed,
        )
        for task in found
    ]


async def my_standups(
    session: AsyncSession, user: str, now: dt.datetime, holidays: frozenset[dt.date]
) -> list[StandupLine]:
    found = await standups.due_today(session, user, now, holidays)
    return [
        StandupLine(
            name=item.name,
            channel=item.channel,
            prompt_at=item.prompt_at,
            cutoff_at=item.cutoff_at,
            status=item.status,
            # The Write button needs today's run; offered when the standups feature says which.
            run_id=getattr(item, "run_id", None),
        )
        for item in found
    ]


async def my_timezone(session: AsyncSession, user: str) -> str | None:
    return await standups.user_timezone(session, user)


def _routed(route: CiRoute, branch: str) -> bool:
    return not route.branches or any(fnmatch(branch, pattern) for pattern in route.branches)


async def routed_ci(session: AsyncSession, routes: list[CiRoute]) -> list[PipelineLine]:
    """The state of every pipeline on a routed repository and branch, red first."""
    seen: dict[tuple[str, str, str, str], PipelineLine] = {}
    for route in routes:
        repo = None if route.repo == "*" else route.repo
        for item in await ci.status(session, repo):
            if _routed(route, item.branch):
                key = (item.provider, item.repo, item.branch, item.workflow)
                seen[key] = PipelineLine(
                    item.repo, item.branch, item.workflow, item.state, item.since, item.muted_until
                )
    ordered = sorted(seen.values(), key=lambda p: (p.state != "red", p.repo, p.branch, p.workflow))
    return ordered[:PIPELINE_LIMIT]
