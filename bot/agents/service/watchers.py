"""Another feature's view that shows a hand-off request (an incident card listing a follow-up
sent to the agents): which agents' rows redraw it, and what it reads of the request.

The request names its watcher when it is made (`Handoff(watch=(kind, record_id))`); the other
feature registers `request_watches(kind)` among its view's watches and reads `request_briefs`
and `watched_prs_between` through `bot.agents.service`. The agents never learn what the
watcher is.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection, Iterable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Select, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.agents import models as m
from bot.agents.models import AgentRequest, AgentTask
from bot.core.db import UTCDateTime
from bot.core.watches import Watch, wrote

Keys = Iterable[str | int | None] | Select[Any]
# What a watcher shows of each attempt: its state and its pull request.
SHOWN = ("state", "pr_url")
WAITING, WORKING, DONE, FAILED = "waiting", "working", "done", "failed"


@dataclass(frozen=True)
class RequestBrief:
    """A hand-off request as a watcher shows it: how far its attempts are, and their PRs."""

    request_id: int
    repo: str
    attempts: int
    finished: int
    state: str  # WAITING, WORKING, DONE (at least one attempt completed) or FAILED
    prs: tuple[tuple[int, str], ...]  # (attempt, pull request url)


@dataclass(frozen=True)
class WatchedPr:
    """A pull request opened by an attempt of a request that names a watcher."""

    request_id: int
    watch_id: str
    attempt: int
    url: str
    opened_at: dt.datetime


def request_watches(kind: str) -> list[Watch]:
    """Watches for the view `kind` that requests name as their watcher: it is redrawn when an
    attempt of such a request changes state or opens its pull request."""

    def attempt(row: AgentTask) -> Keys:
        if not wrote(row, *SHOWN):
            return []
        return select(AgentRequest.watch_id).where(
            AgentRequest.id == row.request_id, AgentRequest.watch_kind == kind
        )

    return [Watch(AgentTask, attempt)]


def _state(tasks: list[AgentTask]) -> str:
    if any(task.state == m.COMPLETED for task in tasks) and all(
        task.state in m.TERMINAL for task in tasks
    ):
        return DONE
    if tasks and all(task.state in m.TERMINAL for task in tasks):
        return FAILED
    if any(task.state != m.QUEUED for task in tasks):
        return WORKING
    return WAITING


async def request_briefs(
    session: AsyncSession, request_ids: Collection[int]
) -> dict[int, RequestBrief]:
    """request id -> what its watcher shows (requests that no longer exist are left out)."""
    if not request_ids:
        return {}
    requests = await session.scalars(
        select(AgentRequest).where(AgentRequest.id.in_(list(request_ids)))
    )
    found: dict[int, RequestBrief] = {}
    for request in requests:
        tasks = list(
            await session.scalars(
                select(AgentTask)
                .where(AgentTask.request_id == request.id)
                .order_by(AgentTask.attempt)
            )
        )
        found[request.id] = RequestBrief(
            request_id=request.id,
            repo=request.repo,
            attempts=request.attempts,
            finished=sum(1 for task in tasks if task.state in m.TERMINAL),
            state=_state(tasks),
            prs=tuple((task.attempt, task.pr_url) for task in tasks if task.pr_url),
        )
    return found


async def watched_prs_between(
    session: AsyncSession, kind: str, start: dt.datetime, end: dt.datetime
) -> list[WatchedPr]:
    """Pull requests opened in [start, end) by requests whose watcher is of `kind`. An attempt
    from before `pr_opened_at` was kept counts from when it finished."""
    opened = func.coalesce(AgentTask.pr_opened_at, AgentTask.finished_at, type_=UTCDateTime())
    rows = await session.execute(
        select(AgentTask, AgentRequest.watch_id, opened)
        .join(AgentRequest, AgentRequest.id == AgentTask.request_id)
        .where(
            AgentRequest.watch_kind == kind,
            AgentRequest.watch_id.is_not(None),
            AgentTask.pr_url.is_not(None),
            opened >= start,
            opened < end,
        )
        .order_by(opened, AgentTask.id)
    )
    return [
        WatchedPr(task.request_id, str(watch_id), task.attempt, str(task.pr_url), at)
        for task, watch_id, at in rows.all()
    ]
