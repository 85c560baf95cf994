"""Reads of CI state, for /ci and for other features (digests, home): pure database queries."""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import Row, Select, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.ci.models import CiBreakage, CiMute, CiPipeline, CiRun
from bot.core.db import utcnow


@dataclass(frozen=True)
class PipelineStatus:
    provider: str
    repo: str
    branch: str
    workflow: str
    state: str
    since: dt.datetime | None
    muted_until: dt.datetime | None
    breakage_id: int | None


@dataclass(frozen=True)
class BreakageSummary:
    id: int
    provider: str
    repo: str
    branch: str
    workflow: str
    status: str
    opened_at: dt.datetime
    closed_at: dt.datetime | None
    first_red_sha: str
    fixed_sha: str | None
    failed_runs: int

    @property
    def time_to_recover(self) -> dt.timedelta | None:
        return self.closed_at - self.opened_at if self.closed_at else None


@dataclass(frozen=True)
class FlakeSummary:
    repo: str
    branch: str
    workflow: str
    sha: str
    url: str | None
    at: dt.datetime


async def _mutes(session: AsyncSession, now: dt.datetime) -> dict[tuple[str, str], dt.datetime]:
    rows = await session.scalars(select(CiMute).where(CiMute.until > now))
    return {(mute.repo.lower(), mute.branch): mute.until for mute in rows}


async def status(
    session: AsyncSession, repo: str | None = None, now: dt.datetime | None = None
) -> list[PipelineStatus]:
    """Every tracked pipeline (optionally of one repo), red first."""
    now = now or utcnow()
    query = select(CiPipeline)
    if repo:
        query = query.where(func.lower(CiPipeline.repo) == repo.lower())
    mutes = await _mutes(session, now)
    result = [
        PipelineStatus(
            provider=row.provider,
            repo=row.repo,
            branch=row.branch,
            workflow=row.workflow,
            state=row.state,
            since=row.state_since,
            muted_until=mutes.get((row.repo.lower(), row.branch)),
            breakage_id=row.open_breakage_id,
        )
        for row in await session.scalars(query)
    ]
    return sorted(result, key=lambda p: (p.state != "red", p.repo, p.branch, p.workflow))


async def red_now(session: AsyncSession) -> list[PipelineStatus]:
    return [p for p in await status(session) if p.state == "red"]


# A breakage, its pipeline, its red run count, its first red sha and its fixing sha.
_SummaryColumns = tuple[CiBreakage, CiPipeline, int | None, str | None, str | None]


def _summary_query() -> Select[*_SummaryColumns]:
    failed = (
        select(func.count(CiRun.id))
        .where(CiRun.breakage_id == CiBreakage.id, CiRun.outcome == "red")
        .correlate(CiBreakage)
        .scalar_subquery()
    )
    first = select(CiRun.sha).where(CiRun.id == CiBreakage.first_red_run_id).scalar_subquery()
    fixed = select(CiRun.sha).where(CiRun.id == CiBreakage.closing_run_id).scalar_subquery()
    return select(CiBreakage, CiPipeline, failed, first, fixed).join(
        CiPipeline, CiPipeline.id == CiBreakage.pipeline_id
    )


def _summaries(rows: Iterable[Row[*_SummaryColumns]]) -> list[BreakageSummary]:
    return [
        BreakageSummary(
            id=breakage.id,
            provider=pipeline.provider,
            repo=pipeline.repo,
            branch=pipeline.branch,
            workflow=pipeline.workflow,
            status=breakage.status,
            opened_at=breakage.opened_at,
            closed_at=breakage.closed_at,
            first_red_sha=first or "",
            fixed_sha=fixed,
            failed_runs=int(failed or 0),
        )
        for breakage, pipeline, failed, first, fixed in rows
    ]


async def history(
    session: AsyncSession, repo: str, branch: str | None = None, limit: int = 10
) -> list[BreakageSummary]:
    """The last breakages of a repo (optionally one branch), newest first."""
    query = _summary_query().where(func.lower(CiPipeline.repo) == repo.lower())
    if branch:
        query = query.where(CiPipeline.branch == branch)
    rows = await session.execute(query.order_by(CiBreakage.opened_at.desc()).limit(limit))
    return _summaries(rows)


async def breakages_between(
    session: AsyncSession, start: dt.datetime, end: dt.datetime
) -> list[BreakageSummary]:
    """Breakages that were red at any moment in [start, end), oldest first."""
    query = _summary_query().where(
        CiBreakage.opened_at < end,
        or_(CiBreakage.closed_at.is_(None), CiBreakage.closed_at > start),
    )
    return _summaries(await session.execute(query.order_by(CiBreakage.opened_at)))


async def mean_time_to_recover(
    session: AsyncSession, start: dt.datetime, end: dt.datetime, repo: str | None = None
) -> dt.timedelta | None:
    """Mean red time of real breakages (flakes excluded) that recovered in [start, end)."""
    query = (
        select(CiBreakage.opened_at, CiBreakage.closed_at)
        .join(CiPipeline, CiPipeline.id == CiBreakage.pipeline_id)
        .where(
            CiBreakage.status == "fixed", CiBreakage.closed_at >= start, CiBreakage.closed_at < end
        )
    )
    if repo:
        query = query.where(func.lower(CiPipeline.repo) == repo.lower())
    rows = await session.execute(query)
    # `closed_at >= start` already leaves out open breakages: `closed` is never None here.
    spans = [closed - opened for opened, closed in rows if closed is not None]
    return sum(spans, dt.timedelta()) / len(spans) if spans else None


def _merged_minutes(spans: list[tuple[dt.datetime, dt.datetime]]) -> float:
    """Length of the union of intervals: two workflows red at once count once."""
    total, current_start, current_end = dt.timedelta(), None, None
    for start, end in sorted(spans):
        if current_end is None or start > current_end:
            if current_end is not None and current_start is not None:
                total += current_end - current_start
            current_start, current_end = start, end
        else:
            current_end = max(current_end, end)
    if current_end is not None and current_start is not None:
        total += current_end - current_start
    return total.total_seconds() / 60


async def red_minutes_by_branch(
    session: AsyncSession, start: dt.datetime, end: dt.datetime, now: dt.datetime | None = None
) -> dict[tuple[str, str], float]:
    """Minutes each (repo, branch) had at least one red pipeline within [start, end)."""
    now = now or utcnow()
    spans: dict[tuple[str, str], list[tuple[dt.datetime, dt.datetime]]] = {}
    for item in await breakages_between(session, start, end):
        opened = max(item.opened_at, start)
        closed = min(item.closed_at or now, end)
        if closed > opened:
            spans.setdefault((item.repo, item.branch), []).append((opened, closed))
    return {key: _merged_minutes(value) for key, value in spans.items()}


async def flakes_between(
    session: AsyncSession, start: dt.datetime, end: dt.datetime
) -> list[FlakeSummary]:
    """Red runs whose very sha also passed (completed in [start, end)), oldest first."""
    rows = await session.execute(
        select(CiRun, CiPipeline)
        .join(CiPipeline, CiPipeline.id == CiRun.pipeline_id)
        .where(CiRun.flaky.is_(True), CiRun.completed_at >= start, CiRun.completed_at < end)
        .order_by(CiRun.completed_at)
    )
    return [
        FlakeSummary(p.repo, p.branch, p.workflow, run.sha, run.url, run.completed_at)
        for run, p in rows
    ]


async def flakiest_workflows(
    session: AsyncSession, start: dt.datetime, end: dt.datetime, limit: int = 5
) -> list[tuple[str, str, int]]:
    """(repo, workflow, flaky runs) with the most flakes first."""
    counts = Counter((f.repo, f.workflow) for f in await flakes_between(session, start, end))
    ranked = sorted(counts.items(), key=lambda item: (-item[1], item[0]))
    return [(repo, workflow, count) for (repo, workflow), count in ranked[:limit]]
