"""Breakages handed to coding agents from their card ("Ask agents to fix"), and the attempt
credited with the fix once the branch is green again (no Slack and no HTTP here).

A press opens a form (how many attempts, which agent) once `opening` says asking can start;
its submission records a `CiFixRequest` and the durable step that prepares it (`FIX_TASK`, in
`bot/ci/workflows/fixes.py`: it reads GitHub, builds the prompt and hands it to the agents
through their service). The agents run in the card's thread; the card follows their request.
When the breakage ends, `CREDIT_TASK` decides which attempt, if any, the green commit holds.

The rule for "fixed by attempt N" (the honest one, given what we can see): the green run's
commit is the attempt's branch head that CI ran on, or (asked of GitHub, when a token is set)
holds that head, or holds the merge commit of the attempt's merged pull request. A fix written
by hand, or an attempt whose change reached the branch in another way, is not credited. When
GitHub cannot tell, or the credit is still undecided `CREDIT_GIVE_UP` after the green run came
in (its task kept failing), none is credited and the card says why: the recovery line waits for
the credit, and must not wait for ever.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from bot.agents import service as agents
from bot.ci.models import (
    CiBreakage,
    CiBreakagePost,
    CiFixRequest,
    CiPipeline,
    CiRun,
    CiSuspect,
)
from bot.ci.service.events import GREEN, RED
from bot.ci.service.kinds import CARD, CREDIT_TASK, FIX_TASK, post_key
from bot.config import Settings
from bot.core import tasks, workspaces
from bot.core.db import utcnow
from bot.core.projector import NotReady, posted_ts

PREPARING, HANDED, FAILED = "preparing", "handed", "failed"
# Crediting takes a few GitHub calls: a deadline. A credit still undecided this long after the
# green run came in (its task kept failing, or was lost) is settled as "could not be checked",
# whether or not the task is still retrying; `credit` keeps whichever decision comes first.
CREDIT_GIVE_UP = dt.timedelta(hours=1)
NOT_CHECKED = "whether an attempt is in it could not be checked"


class FixRefused(Exception):
    """Why a press starts nothing, said to the person who pressed (ephemeral)."""


@dataclass(frozen=True)
class FixInfo:
    """The latest time agents were asked to fix a breakage, as its card shows it."""

    requested_by: str
    attempts: int
    status: str
    problem: str | None
    left_out: str | None
    running: bool
    finished: int
    ci_green: tuple[int, ...]
    credited: bool
    fixed_by: tuple[int, ...]
    branches: tuple[tuple[int, str], ...]
    credit_note: str | None = None  # why no attempt was credited, when that is not plain


@dataclass(frozen=True)
class FixJob:
    """What preparing a fix request needs to know of its breakage."""

    fix: CiFixRequest
    breakage: CiBreakage
    pipeline: CiPipeline
    first_red: CiRun
    red_run: CiRun  # the newest failing run: its jobs are the ones that fail now
    suspects: list[CiSuspect]


async def latest(session: AsyncSession, breakage_id: int) -> CiFixRequest | None:
    """The newest fix request of a breakage, in the workspace the work is within."""
    return await session.scalar(
        select(CiFixRequest)
        .where(CiFixRequest.breakage_id == breakage_id)
        .order_by(CiFixRequest.round.desc())
        .limit(1)
    )


async def is_running(session: AsyncSession, fix: CiFixRequest) -> bool:
    if fix.status == PREPARING:
        return True
    if fix.status != HANDED or fix.agent_request_id is None:
        return False
    return not agents.all_finished(await agents.attempts_of(session, fix.agent_request_id))


async def card_of(session: AsyncSession, breakage_id: int) -> tuple[str, str]:
    """(channel, ts) of the breakage's card in the workspace the work is within, as posted
    (its thread is where the agents work); `FixRefused` while it is not posted."""
    team = workspaces.current_team()
    posts = await session.scalars(
        select(CiBreakagePost.team_id).where(CiBreakagePost.breakage_id == breakage_id)
    )
    teams = list(posts)
    key = post_key(breakage_id, team if team in teams else "")
    try:
        return await posted_ts(session, CARD, key)
    except NotReady:
        raise FixRefused("The breakage's card is not posted here yet; try again shortly.") from None


@dataclass(frozen=True)
class Opening:
    """What a press on a breakage's card may start: where the agents work, and the round."""

    repo: str  # as the agents name it
    branch: str
    channel: str  # the card: the agents work in its thread
    thread_ts: str
    previous: CiFixRequest | None  # the latest round, over


async def opening(session: AsyncSession, breakage_id: int, *, settings: Settings) -> Opening:
    """Whether agents may be asked to fix the breakage from its card in this workspace now (the
    rules a press, and then its form, must pass); `FixRefused` saying why not. Writes nothing."""
    breakage = await session.get(CiBreakage, breakage_id)
    pipeline = await session.get(CiPipeline, breakage.pipeline_id) if breakage else None
    if breakage is None or pipeline is None:
        raise FixRefused("That CI breakage no longer exists.")
    if breakage.status != "open":
        raise FixRefused("This breakage is over: the branch is green again.")
    repo = agents.handoff_repo(settings, pipeline.repo)
    if repo is None:
        raise FixRefused(
            f"The agents do not work on {pipeline.repo}: add it to agents.repos to ask them."
        )
    channel, thread_ts = await card_of(session, breakage_id)
    previous = await latest(session, breakage_id)
    if previous is not None and await is_running(session, previous):
        raise FixRefused("Agents are already working on this breakage: follow them in this thread.")
    return Opening(repo, pipeline.branch, channel, thread_ts, previous)


async def ask(
    session: AsyncSession,
    breakage_id: int,
    *,
    settings: Settings,
    user: str,
    reviewers: Sequence[str],
    attempts: int,
    backend: str | None = None,
) -> CiFixRequest:
    """Record that `user` asked agents to fix the breakage from its card in this workspace
    (`attempts` attempts by `backend`, None: `ci.fix_backend`), and queue its preparation;
    `FixRefused` when nothing is to start (`opening`)."""
    start = await opening(session, breakage_id, settings=settings)
    previous = start.previous
    fix = CiFixRequest(
        breakage_id=breakage_id,
        round=previous.round + 1 if previous else 1,
        channel=start.channel,
        thread_ts=start.thread_ts,
        requested_by=user,
        reviewers=list(dict.fromkeys(reviewers)),
        attempts=attempts,
        backend=backend,
        status=PREPARING,
        fixed_by=[],
        created_at=utcnow(),
    )
    try:
        async with session.begin_nested():
            session.add(fix)
            await session.flush()
    except IntegrityError:  # someone else's press took this round a moment ago
        raise FixRefused("Agents are already being asked to fix this breakage.") from None
    await tasks.enqueue(session, FIX_TASK, {"fix_id": fix.id}, key=f"{FIX_TASK}:{fix.id}")
    return fix


async def job(session: AsyncSession, fix_id: int) -> FixJob | None:
    """The fix request and its breakage, when it still waits to be handed over."""
    fix = await session.get(CiFixRequest, fix_id)
    if fix is None or fix.status != PREPARING:
        return None
    breakage = await session.get(CiBreakage, fix.breakage_id)
    pipeline = await session.get(CiPipeline, breakage.pipeline_id) if breakage else None
    if breakage is None or pipeline is None:
        return None
    red_run = await session.scalar(
        select(CiRun)
        .where(CiRun.breakage_id == breakage.id, CiRun.outcome == RED)
        .order_by(CiRun.created_at.desc(), CiRun.attempt.desc(), CiRun.id.desc())
        .limit(1)
    )
    first_red = await session.get(CiRun, breakage.first_red_run_id)
    if red_run is None or first_red is None:
        return None
    suspects = await session.scalars(
        select(CiSuspect).where(CiSuspect.breakage_id == breakage.id).order_by(CiSuspect.position)
    )
    return FixJob(fix, breakage, pipeline, first_red, red_run, list(suspects))


async def still_preparing(session: AsyncSession, fix_id: int) -> bool:
    """Lock the fix request; True when it still waits to be handed over (once only)."""
    fix = await session.get(CiFixRequest, fix_id, with_for_update=True)
    return fix is not None and fix.status == PREPARING


async def handed(
    session: AsyncSession, fix_id: int, agent_request_id: int, left_out: str | None
) -> None:
    fix = await session.get(CiFixRequest, fix_id, with_for_update=True)
    if fix is not None and fix.status == PREPARING:
        fix.status, fix.agent_request_id, fix.left_out = HANDED, agent_request_id, left_out


async def failed(session: AsyncSession, fix_id: int, problem: str) -> None:
    fix = await session.get(CiFixRequest, fix_id, with_for_update=True)
    if fix is not None and fix.status == PREPARING:
        fix.status, fix.problem = FAILED, problem[:1000]


# ------------------------------------------------------------------ when the branch is green


async def on_close(session: AsyncSession, breakage: CiBreakage) -> None:
    """A breakage ended: queue the crediting of its agents' attempts, if any were asked."""
    asked = await session.scalar(
        select(CiFixRequest.id).where(CiFixRequest.breakage_id == breakage.id).limit(1)
    )
    if asked is not None:
        key = f"{CREDIT_TASK}:{breakage.id}"
        await tasks.enqueue(session, CREDIT_TASK, {"breakage_id": breakage.id}, key=key)


@dataclass(frozen=True)
class CreditJob:
    breakage: CiBreakage
    repo: str
    provider: str
    green_sha: str | None
    red_shas: frozenset[str]  # commits CI found red in the breakage: no attempt's own
    fixes: list[CiFixRequest]


async def credit_job(session: AsyncSession, breakage_id: int) -> CreditJob | None:
    breakage = await session.get(CiBreakage, breakage_id)
    pipeline = await session.get(CiPipeline, breakage.pipeline_id) if breakage else None
    if breakage is None or pipeline is None or breakage.status == "open":
        return None
    closing = await session.get(CiRun, breakage.closing_run_id or -1)
    fixes = await session.scalars(
        select(CiFixRequest).where(
            CiFixRequest.breakage_id == breakage_id, CiFixRequest.credited_at.is_(None)
        )
    )
    sha = closing.sha if closing else None
    reds = await session.scalars(
        select(CiRun.sha).where(CiRun.breakage_id == breakage_id, CiRun.outcome == RED)
    )
    red_shas = frozenset(reds) | frozenset({breakage.last_green_sha or ""}) - {""}
    return CreditJob(breakage, pipeline.repo, pipeline.provider, sha, red_shas, list(fixes))


def candidates(
    job: CreditJob, attempts: Sequence[agents.AttemptBrief]
) -> list[agents.AttemptBrief]:
    """Attempts that made a change of their own: completed with files changed, and their
    branch head is none of the breakage's commits (a head that is main's own commit would be
    "contained" in any later green commit)."""
    return [
        a
        for a in attempts
        if a.state == agents.COMPLETED
        and a.changed
        and (a.ci_sha is None or a.ci_sha not in job.red_shas)
    ]


def same_commit(green_sha: str | None, attempts: Sequence[agents.AttemptBrief]) -> list[int]:
    """The attempts whose branch head, as CI ran it, is the green commit itself."""
    if not green_sha:
        return []
    return [a.attempt for a in attempts if a.ci_sha and a.ci_sha == green_sha]


async def credit(
    session: AsyncSession, fix_id: int, fixed_by: Sequence[int], note: str | None
) -> None:
    fix = await session.get(CiFixRequest, fix_id, with_for_update=True)
    if fix is not None and fix.credited_at is None:
        fix.fixed_by = sorted(set(fixed_by))
        fix.credit_note = note
        fix.credited_at = utcnow()


async def give_up_crediting(session: AsyncSession, now: dt.datetime | None = None) -> int:
    """Credit none, saying it could not be checked, to the fix requests of ended breakages still
    undecided `CREDIT_GIVE_UP` after their green run came in; how many. Idempotent."""
    now = now or utcnow()
    overdue = await session.scalars(
        select(CiFixRequest)
        .join(CiBreakage, CiBreakage.id == CiFixRequest.breakage_id)
        .join(CiRun, CiRun.id == CiBreakage.closing_run_id)
        .where(
            CiFixRequest.status == HANDED,
            CiFixRequest.credited_at.is_(None),
            CiBreakage.status != "open",
            CiRun.received_at <= now - CREDIT_GIVE_UP,
        )
        .with_for_update(of=CiFixRequest)
    )
    count = 0
    for fix in overdue:
        fix.fixed_by, fix.credit_note, fix.credited_at = [], NOT_CHECKED, now
        count += 1
    return count


# ------------------------------------------------------------------ what the card shows


async def info(session: AsyncSession, breakage_id: int) -> FixInfo | None:
    fix = await latest(session, breakage_id)
    if fix is None:
        return None
    found = (
        await agents.attempts_of(session, fix.agent_request_id)
        if fix.agent_request_id is not None
        else []
    )
    running = fix.status == PREPARING or (fix.status == HANDED and not agents.all_finished(found))
    return FixInfo(
        requested_by=fix.requested_by,
        attempts=fix.attempts,
        status=fix.status,
        problem=fix.problem,
        left_out=fix.left_out,
        running=running,
        finished=sum(1 for a in found if a.state in agents.TERMINAL),
        ci_green=tuple(a.attempt for a in found if a.ci_state == GREEN),
        credited=fix.credited_at is not None,
        fixed_by=tuple(int(n) for n in fix.fixed_by or ()),
        branches=tuple((a.attempt, a.branch) for a in found if a.branch),
        credit_note=fix.credit_note,
    )


def waits_for_credit(fix: FixInfo | None, status: str) -> bool:
    """A closed breakage whose agents' attempts are still being credited."""
    return fix is not None and status != "open" and fix.status == HANDED and not fix.credited
