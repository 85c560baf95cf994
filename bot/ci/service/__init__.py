"""The CI rules: runs in, breakages opened, attached to and closed; no Slack and no HTTP here.

Ordering: webhooks arrive in any order, so runs are ordered by (provider creation time, attempt).
A provider creates one run per push and a re-run keeps its original creation time, so the run of
a newer push always outranks a late webhook or a re-run of an older commit. The state of a
pipeline only moves when a run newer than the one that last decided it arrives; older runs are
stored as `stale`. The one exception is a flake: a sha that both failed and passed, in either order.

The rest of the rules live beside this module, by sub-domain: `events` (what every provider's
payload becomes), `payloads` (what the provider payload models share, times as providers write
them), `routing` (which branch goes to which channel), `queries` (reads for /ci and for other
features), `suspects` (the commits suspected of a breakage), `upkeep` (mutes, the pass over open
breakages), `cards` (the state the views draw, loaded for the projector), `commands` (the `/ci`
text), `watching` (which rows redraw which view), `kinds` (view, task and job names), `access`
(who may see a breakage and ask agents to fix it), `fixes` (breakages handed to coding agents)
and `prompt` (what those agents are sent).

Other features (digests, App Home, code red) read CI through the names re-exported in `__all__`.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.ci.models import CiBreakage, CiBreakagePost, CiMute, CiPipeline, CiRun
from bot.ci.service import fixes, suspects
from bot.ci.service.events import GREEN, RED, Commit, RunEvent
from bot.ci.service.kinds import SUSPECTS_TASK
from bot.ci.service.queries import (
    BreakageSummary,
    FlakeSummary,
    PipelineStatus,
    breakages_between,
    flakes_between,
    flakiest_workflows,
    history,
    mean_time_to_recover,
    red_minutes_by_branch,
    red_now,
    status,
)
from bot.ci.settings import SECTION, CiRoute
from bot.config import Settings
from bot.core import tasks
from bot.core.db import affected, insert_ignore, table_of, utcnow
from bot.core.watches import changed

__all__ = [
    "routes",
    # Tables other features' views watch (App Home).
    "CiMute",
    "CiPipeline",
    "BreakageSummary",
    "FlakeSummary",
    "Ingested",
    "PipelineStatus",
    "breakages_between",
    "flakes_between",
    "flakiest_workflows",
    "history",
    "known_branch",
    "mean_time_to_recover",
    "record_run",
    "red_minutes_by_branch",
    "red_now",
    "status",
]


@dataclass(frozen=True)
class Ingested:
    """What one run did: opened, attached, fixed, flaky, green, flake, stale, ignored, duplicate."""

    effect: str
    run_id: int | None = None
    breakage_id: int | None = None


def _order(run: CiRun) -> tuple[dt.datetime, int, int]:
    return (run.created_at, run.attempt, run.id)


async def _pipeline(session: AsyncSession, event: RunEvent, now: dt.datetime) -> CiPipeline:
    # Insert first: on SQLite this takes the write lock before we read the state we will change.
    keys = {
        "provider": event.provider,
        "repo": event.repo,
        "branch": event.branch,
        "workflow": event.workflow[:255],
    }
    values = {**keys, "state": "unknown", "created_at": now}
    result = await session.execute(
        insert_ignore(session, table_of(CiPipeline)).on_conflict_do_nothing(
            index_elements=list(keys)
        ),
        values,
    )
    pipeline = await session.scalar(
        select(CiPipeline)
        .where(*(getattr(CiPipeline, name) == value for name, value in keys.items()))
        .with_for_update()
    )
    assert pipeline is not None
    if affected(result):
        await changed(session, CiPipeline, id=pipeline.id, **values)
    return pipeline


async def active_mute(
    session: AsyncSession, repo: str, branch: str, now: dt.datetime
) -> CiMute | None:
    return await session.scalar(
        select(CiMute).where(
            func.lower(CiMute.repo) == repo.lower(), CiMute.branch == branch, CiMute.until > now
        )
    )


async def known_branch(session: AsyncSession, repo: str, branch: str) -> bool:
    """Some pipeline of this repo has reported runs on this branch."""
    found = await session.scalar(
        select(CiPipeline.id)
        .where(func.lower(CiPipeline.repo) == repo.lower(), CiPipeline.branch == branch)
        .limit(1)
    )
    return found is not None


async def _insert_run(
    session: AsyncSession, pipeline: CiPipeline, event: RunEvent, quiet: bool, now: dt.datetime
) -> CiRun | None:
    completed = min(event.completed_at, now)
    head = event.head_commit
    values = {
        "pipeline_id": pipeline.id,
        "provider": event.provider,
        "external_id": event.external_id[:64],
        "attempt": event.attempt,
        "number": event.number,
        "sha": event.sha,
        "conclusion": event.conclusion[:32],
        "outcome": event.outcome,
        "url": event.url,
        "title": event.title,
        "commit_message": head.message,
        "author_name": (head.author_name or "")[:255] or None,
        "author_email": (head.author_email or "")[:255] or None,
        "created_at": min(event.created_at, completed),
        "completed_at": completed,
        "received_at": now,
        "stale": False,
        "flaky": False,
        "quiet": quiet,
    }
    result = await session.execute(
        insert_ignore(session, table_of(CiRun)).on_conflict_do_nothing(
            index_elements=["provider", "external_id", "attempt"]
        ),
        values,
    )
    if affected(result) != 1:
        return None
    run = await session.scalar(
        select(CiRun).where(
            CiRun.provider == event.provider,
            CiRun.external_id == values["external_id"],
            CiRun.attempt == event.attempt,
        )
    )
    assert run is not None
    await changed(session, CiRun, id=run.id, breakage_id=None, **values)
    return run


async def record_run(
    session: AsyncSession,
    event: RunEvent,
    route: CiRoute,
    now: dt.datetime | None = None,
    elsewhere: Sequence[CiRoute] = (),
) -> Ingested:
    """Store a completed run of a routed branch and move its pipeline's state. A breakage it
    opens is posted in `route`'s channel and in those of the routes `elsewhere` (in other
    workspaces)."""
    now = now or utcnow()
    pipeline = await _pipeline(session, event, now)
    muted = await active_mute(session, event.repo, event.branch, now) is not None
    run = await _insert_run(session, pipeline, event, muted, now)
    if run is None:
        return Ingested("duplicate")
    if run.outcome == GREEN:
        effect, breakage_id = await _apply_green(session, pipeline, run)
    elif run.outcome == RED:
        routed = (route, *elsewhere)
        effect, breakage_id = await _apply_red(session, pipeline, run, event, routed, muted)
    else:
        effect, breakage_id = "ignored", None
    await session.flush()
    return Ingested(effect, run.id, breakage_id)


async def _get_run(session: AsyncSession, run_id: int | None) -> CiRun | None:
    return await session.get(CiRun, run_id) if run_id is not None else None


async def _red_runs(session: AsyncSession, breakage_id: int) -> list[CiRun]:
    rows = await session.scalars(
        select(CiRun).where(CiRun.breakage_id == breakage_id, CiRun.outcome == RED)
    )
    return list(rows)


async def _apply_green(
    session: AsyncSession, pipeline: CiPipeline, run: CiRun
) -> tuple[str, int | None]:
    head = await _get_run(session, pipeline.head_run_id)
    last_green = await _get_run(session, pipeline.last_green_run_id)
    breakage = await session.get(CiBreakage, pipeline.open_breakage_id or -1)
    if breakage is not None:
        reds = await _red_runs(session, breakage.id)
        same_sha = [red for red in reds if red.sha == run.sha]
        for red in same_sha:
            red.flaky = True
        if same_sha and max(reds, key=_order).sha == run.sha:
            await _close(session, pipeline, breakage, run, "flaky")
            return "flaky", breakage.id
        if head is None or _order(run) > _order(head):
            await _close(session, pipeline, breakage, run, "fixed")
            return "fixed", breakage.id
        run.stale = True
        first_red = await _get_run(session, breakage.first_red_run_id)
        if _newer_green(run, last_green) and first_red and _order(run) < _order(first_red):
            # A late green from before the break: the break started after it, not earlier.
            pipeline.last_green_run_id, breakage.last_green_sha = run.id, run.sha
        return ("flake" if same_sha else "stale"), breakage.id
    if head is None or _order(run) > _order(head):
        if pipeline.state != "green":
            pipeline.state, pipeline.state_since = "green", run.completed_at
        pipeline.head_run_id = pipeline.last_green_run_id = run.id
        return "green", None
    if _newer_green(run, last_green):
        pipeline.last_green_run_id = run.id
    run.stale = True
    return "stale", None


def _newer_green(run: CiRun, last_green: CiRun | None) -> bool:
    return last_green is None or _order(run) > _order(last_green)


async def _sha_passed(session: AsyncSession, pipeline_id: int, sha: str) -> bool:
    found = await session.scalar(
        select(CiRun.id)
        .where(CiRun.pipeline_id == pipeline_id, CiRun.sha == sha, CiRun.outcome == GREEN)
        .limit(1)
    )
    return found is not None


async def _apply_red(
    session: AsyncSession,
    pipeline: CiPipeline,
    run: CiRun,
    event: RunEvent,
    routes: Sequence[CiRoute],
    muted: bool,
) -> tuple[str, int | None]:
    if await _sha_passed(session, pipeline.id, run.sha):
        # The same code already passed here: the test is flaky, the branch is not broken.
        run.flaky = True
        return "flake", None
    head = await _get_run(session, pipeline.head_run_id)
    last_green = await _get_run(session, pipeline.last_green_run_id)
    if last_green is not None and _order(run) < _order(last_green):
        run.stale = True
        return "stale", None
    breakage = await session.get(CiBreakage, pipeline.open_breakage_id or -1)
    if breakage is not None:
        run.breakage_id = breakage.id
        if head is None or _order(run) > _order(head):
            pipeline.head_run_id = run.id
        return "attached", breakage.id
    if head is not None and _order(run) < _order(head):
        run.stale = True
        return "stale", None
    breakage = await _open(session, pipeline, run, routes, muted, last_green)
    await suspects.add(session, breakage.id, event.commits or (Commit(sha=run.sha),))
    return "opened", breakage.id


async def _open(
    session: AsyncSession,
    pipeline: CiPipeline,
    run: CiRun,
    routes: Sequence[CiRoute],
    muted: bool,
    last_green: CiRun | None,
) -> CiBreakage:
    breakage = CiBreakage(
        pipeline_id=pipeline.id,
        status="open",
        channel=routes[0].channel,
        opened_at=run.completed_at,
        first_red_run_id=run.id,
        last_green_sha=last_green.sha if last_green else None,
        muted=muted,
        suspects_ready=False,
        owners=[],
    )
    session.add(breakage)
    await session.flush()
    # Its card in each routed workspace: one post per workspace, each drawn from this breakage.
    session.add_all(
        CiBreakagePost(breakage_id=breakage.id, team_id=route.team or "", channel=route.channel)
        for route in routes
    )
    run.breakage_id = breakage.id
    pipeline.state, pipeline.state_since = "red", run.completed_at
    pipeline.head_run_id, pipeline.open_breakage_id = run.id, breakage.id
    await tasks.enqueue(
        session, SUSPECTS_TASK, {"breakage_id": breakage.id}, key=f"ci.suspects:{breakage.id}"
    )
    return breakage


async def _close(
    session: AsyncSession, pipeline: CiPipeline, breakage: CiBreakage, run: CiRun, outcome: str
) -> None:
    breakage.status = outcome
    breakage.closed_at = max(run.completed_at, breakage.opened_at)
    await fixes.on_close(session, breakage)
    breakage.closing_run_id = run.id
    pipeline.state, pipeline.state_since = "green", breakage.closed_at
    pipeline.open_breakage_id = None
    pipeline.last_green_run_id = run.id
    head = await _get_run(session, pipeline.head_run_id)
    if head is None or _order(run) > _order(head):
        pipeline.head_run_id = run.id


def routes(settings: Settings) -> list[CiRoute]:
    """Where CI breakages are posted, for every feature that shows CI by channel."""
    return list(settings.section(SECTION).routes)
