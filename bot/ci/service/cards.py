"""Loaders for the projector: read a breakage (or one of its runs) into the state views render.

A view of a breakage is drawn within the workspace it is posted in (the projector enters the
view's workspace), and is given `authors`, the `ci.authors` that workspace sees: its suspects
are that workspace's Slack users (`suspects.users_here`).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.ci.models import CiBreakage, CiBreakagePost, CiPipeline, CiRun
from bot.ci.service import fixes
from bot.ci.service.events import RED
from bot.ci.service.fixes import FixInfo
from bot.ci.service.kinds import CARD, RUN_LINE, post_key, split_key
from bot.ci.service.suspects import listed, users_here
from bot.core.db import utcnow
from bot.core.projector import NotReady, Projection, posted_ts


@dataclass(frozen=True)
class RunInfo:
    id: int
    sha: str
    number: str | None
    attempt: int
    conclusion: str
    url: str | None
    title: str | None
    commit_message: str | None
    author_name: str | None
    completed_at: dt.datetime
    flaky: bool


@dataclass(frozen=True)
class SuspectInfo:
    sha: str
    message: str | None
    url: str | None
    author_name: str | None
    slack_user: str | None


@dataclass(frozen=True)
class BreakageState:
    id: int
    provider: str
    repo: str
    branch: str
    workflow: str
    status: str
    channel: str
    muted: bool
    opened_at: dt.datetime
    closed_at: dt.datetime | None
    last_green_sha: str | None
    red_runs: tuple[RunInfo, ...]
    closing_run: RunInfo | None
    suspects: tuple[SuspectInfo, ...]
    suspects_ready: bool
    owners: tuple[str, ...]
    now: dt.datetime
    thread_ts: str | None = None
    # Agents asked to fix it (the latest time, in this workspace), and whether they can be:
    # the agents work on its repository (set by the card's registration, from the settings).
    fix: FixInfo | None = None
    fixable: bool = False


@dataclass(frozen=True)
class RunLineState:
    breakage: BreakageState
    run: RunInfo


def run_info(run: CiRun) -> RunInfo:
    return RunInfo(
        id=run.id,
        sha=run.sha,
        number=run.number,
        attempt=run.attempt,
        conclusion=run.conclusion,
        url=run.url,
        title=run.title,
        commit_message=run.commit_message,
        author_name=run.author_name,
        completed_at=run.completed_at,
        flaky=run.flaky,
    )


async def load_breakage(
    session: AsyncSession, record_id: str, authors: Mapping[str, str]
) -> BreakageState | None:
    """A breakage as its card in one workspace shows it (`record_id` is a `post_key`; read
    within that workspace, with the `ci.authors` it sees)."""
    breakage_id, team = split_key(record_id)
    row = (
        await session.execute(
            select(CiBreakage, CiPipeline, CiBreakagePost.channel)
            .join(CiPipeline, CiPipeline.id == CiBreakage.pipeline_id)
            .outerjoin(
                CiBreakagePost,
                (CiBreakagePost.breakage_id == CiBreakage.id) & (CiBreakagePost.team_id == team),
            )
            .where(CiBreakage.id == breakage_id)
        )
    ).first()
    if row is None:
        return None
    breakage, pipeline, posted_in = row
    runs = await session.scalars(
        select(CiRun)
        .where(CiRun.breakage_id == breakage.id, CiRun.outcome == RED)
        .order_by(CiRun.created_at, CiRun.attempt, CiRun.id)
    )
    closing = await session.get(CiRun, breakage.closing_run_id or -1)
    suspects = await listed(session, breakage.id)
    users = await users_here(session, suspects, authors)
    return BreakageState(
        id=breakage.id,
        provider=pipeline.provider,
        repo=pipeline.repo,
        branch=pipeline.branch,
        workflow=pipeline.workflow,
        status=breakage.status,
        channel=posted_in or breakage.channel,
        muted=breakage.muted,
        opened_at=breakage.opened_at,
        closed_at=breakage.closed_at,
        last_green_sha=breakage.last_green_sha,
        red_runs=tuple(run_info(run) for run in runs),
        closing_run=run_info(closing) if closing else None,
        suspects=tuple(
            SuspectInfo(s.sha, s.message, s.url, s.author_name, users.get(s.sha)) for s in suspects
        ),
        suspects_ready=breakage.suspects_ready,
        owners=tuple(breakage.owners or ()),
        now=utcnow(),
        fix=await fixes.info(session, breakage.id),
    )


async def load_in_thread(
    session: AsyncSession, record_id: str, authors: Mapping[str, str]
) -> BreakageState | None:
    """A breakage as the parent of a thread line; None when its card is never to be posted."""
    state = await load_breakage(session, record_id, authors)
    if state is None or state.muted:
        return None
    _channel, ts = await posted_ts(session, CARD, record_id)  # the card in the same workspace
    return BreakageState(**{**state.__dict__, "thread_ts": ts})


async def load_run_line(
    session: AsyncSession, record_id: str, authors: Mapping[str, str]
) -> RunLineState | None:
    run_id, team = split_key(record_id)
    run = await session.get(CiRun, run_id)
    if run is None or run.breakage_id is None or run.quiet:
        return None
    breakage = await load_in_thread(session, post_key(run.breakage_id, team), authors)
    return RunLineState(breakage=breakage, run=run_info(run)) if breakage else None


async def load_recovery(
    session: AsyncSession, record_id: str, authors: Mapping[str, str]
) -> BreakageState | None:
    """The recovery line waits for the run lines before it, so the thread reads in order,
    and for the agents' attempts to be credited, so it says which one fixed it."""
    state = await load_breakage(session, record_id, authors)
    if state is None or state.muted:
        return None
    _breakage_id, team = split_key(record_id)
    run_ids = [post_key(run.id, team) for run in state.red_runs]
    pending = await session.scalar(
        select(Projection.id)
        .where(
            Projection.kind == RUN_LINE,
            Projection.record_id.in_(run_ids),
            Projection.status == "active",
            Projection.version > Projection.synced_version,
        )
        .limit(1)
    )
    if pending is not None:
        raise NotReady(f"{RUN_LINE} lines of breakage {record_id} not posted yet")
    if fixes.waits_for_credit(state.fix, state.status):
        # Said once, with the attempt that fixed it (the credit step always decides).
        raise NotReady(f"the agents' attempts on breakage {record_id} are being credited")
    return await load_in_thread(session, record_id, authors)
