"""Digest sections, each written from its own feature's public read functions.

One small adapter per section turns another feature's answers into plain JSON for the digest's
snapshot; a renamed function over there is a one-line fix here. Each section reads in its own
session and a failing one is left out (and logged), so one feature's trouble never stops a digest;
only when Slack cannot say who reads a channel does the whole digest wait for a retry.
Private incidents never appear: a digest is posted where anyone in the channel reads it.
`scope_of` says what one digest run covers.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar
from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.agents import service as agents
from bot.ci import service as ci
from bot.ci.service import routes as ci_routes
from bot.codered import service as codered
from bot.config import Settings
from bot.core.access import Audience, MembershipUnknown, Policy, Subject
from bot.digests.models import DigestRun
from bot.digests.service import activity
from bot.incidents import service as incidents
from bot.standups import service as standups

log = logging.getLogger(__name__)

T = TypeVar("T")
Json = dict[str, Any]
LIST_LIMIT = 5


@dataclass(frozen=True)
class Scope:
    """What one digest covers: its channel, window and the config that narrows it."""

    channel: str
    start: dt.datetime
    end: dt.datetime
    timezone: str
    policy: Policy  # everyone who reads the channel reads the digest: what may they see
    unanswered_hours: float = 4.0
    # Repositories routed to the channel; None means every tracked repository.
    ci_repos: frozenset[str] | None = None

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    async def visible(
        self, session: AsyncSession, kind: str, items: list[T], ref: Callable[[T], object]
    ) -> list[T]:
        """The items of `kind` that every reader of the digest's channel may see."""

        async def subject_of(item: T) -> Subject | None:
            return await self.policy.subject(session, kind, str(ref(item)))

        audience = Audience.channel_readers(self.channel)
        return await self.policy.visible(audience, items, subject_of)


def routed_repos(settings: Settings, channel: str) -> frozenset[str] | None:
    """Repositories whose CI is routed to the channel; None (all) when none or a wildcard is."""
    repos = {route.repo.lower() for route in ci_routes(settings) if route.channel == channel}
    return None if not repos or "*" in repos else frozenset(repos)


def scope_of(settings: Settings, run: DigestRun, policy: Policy) -> Scope:
    return Scope(
        channel=run.channel,
        start=run.window_start,
        end=run.fire_time,
        timezone=run.timezone,
        policy=policy,
        unanswered_hours=run.unanswered_hours,
        ci_repos=routed_repos(settings, run.channel),
    )


def _iso(moment: dt.datetime | None) -> str | None:
    return moment.isoformat() if moment else None


def _minutes(span: dt.timedelta) -> float:
    return round(span.total_seconds() / 60, 1)


# ------------------------------------------------------------------ incidents


def _incident(item: Any) -> Json:
    return {
        "id": item.id,
        "number": item.number,
        "title": item.title,
        "severity": item.severity,
        "status": item.status,
        "channel": item.channel_id,
        "declared_at": _iso(item.declared_at),
    }


async def _incidents(session: AsyncSession, scope: Scope, items: list[Any]) -> list[Any]:
    return await scope.visible(session, incidents.INCIDENT, items, lambda item: item.id)


async def incidents_section(session: AsyncSession, scope: Scope) -> Json | None:
    found = incidents.opened_between(session, scope.start, scope.end)
    opened = await _incidents(session, scope, await found)
    found = incidents.resolved_between(session, scope.start, scope.end)
    resolved = await _incidents(session, scope, await found)
    ongoing = await _incidents(session, scope, await incidents.open_incidents(session))
    prs = await _followup_prs(session, scope)
    spans = [i.resolved_at - i.declared_at for i in resolved if i.resolved_at]
    if not (opened or resolved or ongoing or prs):
        return None
    return {
        "opened": [_incident(i) for i in opened],
        "resolved": [
            {**_incident(i), "minutes": _minutes(i.resolved_at - i.declared_at)} for i in resolved
        ],
        "ongoing": [_incident(i) for i in ongoing],
        "mttr_minutes": _minutes(sum(spans, dt.timedelta()) / len(spans)) if spans else None,
        "followup_prs": prs,
    }


async def _followup_prs(session: AsyncSession, scope: Scope) -> list[Json]:
    """Pull requests the coding agents opened in the window for follow-ups of incidents every
    reader of the digest may see."""
    found = await incidents.followup_prs_between(session, scope.start, scope.end)
    shown = await scope.visible(session, incidents.INCIDENT, found, lambda pr: pr.incident.id)
    return [
        {
            "incident": _incident(pr.incident),
            "followup": pr.followup,
            "attempt": pr.attempt,
            "url": pr.url,
            "opened_at": _iso(pr.opened_at),
        }
        for pr in shown
    ]


# ------------------------------------------------------------------ CI


def _routed(scope: Scope, repo: str) -> bool:
    return scope.ci_repos is None or repo.lower() in scope.ci_repos


async def ci_section(session: AsyncSession, scope: Scope) -> Json | None:
    red = await ci.red_minutes_by_branch(session, scope.start, scope.end, now=scope.end)
    breakages = await ci.breakages_between(session, scope.start, scope.end)
    flakes = await ci.flakes_between(session, scope.start, scope.end)
    red_now = await ci.red_now(session)
    red_minutes: list[Json] = sorted(
        (
            {"repo": repo, "branch": branch, "minutes": round(minutes)}
            for (repo, branch), minutes in red.items()
            if _routed(scope, repo) and minutes >= 1
        ),
        key=lambda item: (-item["minutes"], item["repo"], item["branch"]),
    )
    opened = [
        b for b in breakages if _routed(scope, b.repo) and scope.start <= b.opened_at < scope.end
    ]
    flaky: dict[tuple[str, str], int] = {}
    for flake in flakes:
        if _routed(scope, flake.repo):
            flaky[(flake.repo, flake.workflow)] = flaky.get((flake.repo, flake.workflow), 0) + 1
    now_red = [
        {"repo": p.repo, "branch": p.branch, "workflow": p.workflow, "since": _iso(p.since)}
        for p in red_now
        if _routed(scope, p.repo)
    ]
    if not (red_minutes or opened or flaky or now_red):
        return None
    return {
        "red_minutes": red_minutes,
        "breakages": len(opened),
        "fixed": sum(1 for b in opened if b.closed_at is not None),
        "flakes": sum(flaky.values()),
        "flaky": [
            {"repo": repo, "workflow": workflow, "count": count}
            for (repo, workflow), count in sorted(flaky.items(), key=lambda item: -item[1])
        ][:LIST_LIMIT],
        "red_now": now_red,
    }


# ------------------------------------------------------------------ agents


def _task(task: Any) -> Json:
    return {
        "id": task.task_id,
        "repo": task.repo,
        "instruction": task.instruction,
        "pr_url": task.pr_url,
        "error": task.error,
        "channel": task.channel,
        "thread_ts": task.thread_ts,
    }


async def _tasks(session: AsyncSession, scope: Scope, items: Sequence[Any]) -> list[Any]:
    return await scope.visible(session, agents.AGENT_REQUEST, list(items), _request_id)


def _request_id(task: Any) -> int:
    return int(task.request_id)


async def agents_section(session: AsyncSession, scope: Scope) -> Json | None:
    prs = await _tasks(session, scope, await agents.prs_opened(session, scope.start, scope.end))
    failed = await _tasks(session, scope, await agents.failures(session, scope.start, scope.end))
    running = await _tasks(session, scope, await agents.active(session))
    if not (prs or failed or running):
        return None
    return {
        "prs": [_task(t) for t in prs],
        "failures": [_task(t) for t in failed],
        "active": len(running),
    }


# ------------------------------------------------------------------ standups and code red


async def standups_section(session: AsyncSession, scope: Scope) -> Json | None:
    since = scope.start.astimezone(scope.zone).date()
    until = (scope.end - dt.timedelta(microseconds=1)).astimezone(scope.zone).date()
    rows = []
    summaries = await standups.summaries(session)
    for standup in await _standups(session, scope, summaries, lambda item: item.id):
        stats = await standups.participation(session, standup.id, since, until)
        asked = sum(person.asked for person in stats)
        if asked:
            answered = sum(person.answered for person in stats)
            rows.append({"name": standup.name, "asked": asked, "answered": answered})
    blockers = [
        {"standup": b.standup, "user": b.user, "text": b.text, "since": b.since.isoformat()}
        for b in await _standups(
            session, scope, await standups.open_blockers(session), lambda item: item.standup_id
        )
    ]
    level = await codered_level(session)
    if not (rows or blockers or level):
        return None
    return {"standups": rows, "blockers": blockers, "codered": level}


async def _standups(
    session: AsyncSession, scope: Scope, items: list[T], standup_id: Callable[[T], int]
) -> list[T]:
    """The items (standups, blockers) whose standup, `standup_id(item)`, the readers may see."""
    return await scope.visible(session, standups.STANDUP, items, standup_id)


async def codered_level(session: AsyncSession) -> Json | None:
    """The code red in progress: its level and focus."""
    current = await codered.active(session)
    if current is None:
        return None
    return {
        "level": current.level,
        "title": current.focus,
        "owner": current.owner,
        "channel": current.channel,
        "since": _iso(current.level_since),
    }


# ------------------------------------------------------------------ channel activity


async def activity_section(session: AsyncSession, scope: Scope) -> Json | None:
    figures = await activity.figures(
        session,
        scope.channel,
        scope.start,
        scope.end,
        unanswered_after=dt.timedelta(hours=scope.unanswered_hours),
    )
    if figures.empty:
        return None
    return {
        "messages": figures.messages,
        "people": figures.people,
        "reactions": figures.reactions,
        "threads": [
            {"ts": t.ts, "user": t.user, "text": t.text, "replies": t.replies}
            for t in figures.threads
        ],
        "unanswered": [
            {"ts": q.ts, "user": q.user, "text": q.text, "posted_at": _iso(q.posted_at)}
            for q in figures.unanswered
        ],
        "unanswered_total": figures.unanswered_total,
        "unanswered_hours": scope.unanswered_hours,
    }


# ------------------------------------------------------------------ the weekly chart


@dataclass(frozen=True)
class Series:
    days: list[dt.date]
    incidents: list[int]
    red_minutes: list[float]


async def chart_series(session: AsyncSession, scope: Scope, days: int = 28) -> Series:
    """Incidents declared and CI red minutes per local day, over the days before scope.end."""
    zone = scope.zone
    last = (scope.end - dt.timedelta(microseconds=1)).astimezone(zone).date()
    dates = [last - dt.timedelta(days=back) for back in range(days - 1, -1, -1)]
    bounds = [
        dt.datetime.combine(day, dt.time(), zone).astimezone(dt.UTC)
        for day in [*dates, last + dt.timedelta(days=1)]
    ]
    declared = await incidents.opened_between(session, bounds[0], bounds[-1])
    per_day = {day: 0 for day in dates}
    for item in declared:
        local = item.declared_at.astimezone(zone).date()
        per_day[local] = per_day.get(local, 0) + 1
    minutes = []
    for start, end in zip(bounds, bounds[1:], strict=False):
        red = await ci.red_minutes_by_branch(session, start, end, now=scope.end)
        minutes.append(sum(m for (repo, _), m in red.items() if _routed(scope, repo)))
    return Series(dates, [per_day[day] for day in dates], minutes)


Section = Callable[[AsyncSession, Scope], Awaitable[Json | None]]
# In the order a digest shows them.
SECTIONS: tuple[tuple[str, Section], ...] = (
    ("incidents", incidents_section),
    ("ci", ci_section),
    ("agents", agents_section),
    ("standups", standups_section),
    ("activity", activity_section),
)


async def compose(sessions: async_sessionmaker[AsyncSession], scope: Scope) -> Json:
    """Every section with something to say, by name."""
    result: Json = {}
    for name, section in SECTIONS:
        try:
            async with sessions() as session:
                found = await section(session, scope)
        except MembershipUnknown:
            # Slack did not say who reads a channel: build the digest again later (the task
            # is retried) rather than store one with items silently left out.
            raise
        except Exception:
            log.exception("digest section %s could not be written; leaving it out", name)
            continue
        if found:
            result[name] = found
    return result
