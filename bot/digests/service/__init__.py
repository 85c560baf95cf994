"""The rules of digests: which digests exist, when each is due, and its runs.

A digest comes from the config file or from the channel (`/ops digest ...`, which wins for its
channel). A minute sweep derives due firings from that list and inserts one run per (digest,
fire time); the unique key makes racing replicas create a single run. Building the run's
snapshot and posting it are durable steps after that (a task and the projector).

The rest of the rules, by sub-domain: `activity` (channel activity, stored and counted),
`sections` (what each section of a digest says), `commands` (the text of `/ops digest` and
`/ops activity`) and `loaders` (the state the digest view renders).
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from apscheduler.triggers.cron import CronTrigger
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.core import tasks
from bot.core.dates import WEEKDAYS
from bot.core.db import insert_ignore, utcnow
from bot.core.watches import changed
from bot.digests.models import DigestRun, DigestSchedule
from bot.digests.settings import DigestConfig

VIEW = "digests.digest"
TASK_BUILD = "digests.build"
TASK_CHART = "digests.chart"
# A firing missed by more than this (the bot was down) is skipped rather than posted late.
GRACE = dt.timedelta(hours=1)
MAX_WINDOW = dt.timedelta(days=7)
WEEKLY_FROM = dt.timedelta(days=6)
_LOOKBACKS = tuple(
    dt.timedelta(minutes=m) for m in (2, 2 * 60, 2 * 24 * 60, 8 * 24 * 60, 32 * 24 * 60)
)


@dataclass(frozen=True)
class DigestSpec:
    key: str
    channel: str
    cron: str
    timezone: str
    source: str  # "config" or "channel"
    post_empty: bool = False
    unanswered_hours: float = 4.0
    # A digest set from the channel does not fire for times before it was set.
    not_before: dt.datetime | None = None

    def trigger(self) -> CronTrigger:
        return CronTrigger.from_crontab(self.cron, timezone=self.timezone)


def schedule_cron(cadence: str, weekday: int | None, minute_of_day: int) -> str:
    hour, minute = divmod(minute_of_day, 60)
    day = WEEKDAYS[weekday] if cadence == "weekly" and weekday is not None else "*"
    return f"{minute} {hour} * * {day}"


async def specs(session: AsyncSession, configured: Sequence[DigestConfig]) -> list[DigestSpec]:
    """Every digest in force: the channel's own choice replaces the config file's."""
    chosen = {row.channel: row for row in await session.scalars(select(DigestSchedule))}
    config_by_channel = {item.channel: item for item in configured}
    result = [
        DigestSpec(
            key=f"config:{item.channel}:{item.cron}:{item.timezone}",
            channel=item.channel,
            cron=item.cron,
            timezone=item.timezone,
            source="config",
            post_empty=item.post_empty,
            unanswered_hours=item.unanswered_hours,
        )
        for item in configured
        if item.channel not in chosen
    ]
    for row in chosen.values():
        if not row.enabled:
            continue
        base = config_by_channel.get(row.channel)
        result.append(
            DigestSpec(
                key=f"channel:{row.channel}",
                channel=row.channel,
                cron=schedule_cron(row.cadence, row.weekday, row.minute_of_day),
                timezone=row.timezone,
                source="channel",
                post_empty=base.post_empty if base else False,
                unanswered_hours=base.unanswered_hours if base else 4.0,
                not_before=row.updated_at,
            )
        )
    return result


# ------------------------------------------------------------------ fire times


def _utc(moment: dt.datetime) -> dt.datetime:
    return moment.astimezone(dt.UTC).replace(microsecond=0)


def latest_fire(
    trigger: CronTrigger, moment: dt.datetime, strict: bool = False
) -> dt.datetime | None:
    """The last fire time at or before `moment` (strictly before with `strict`), in UTC."""

    def early(candidate: dt.datetime | None) -> bool:
        return candidate is not None and (candidate < moment if strict else candidate <= moment)

    # Widening look-backs keep frequent crons cheap and still find weekly ones.
    for lookback in _LOOKBACKS:
        candidate = trigger.get_next_fire_time(None, moment - lookback)
        if not early(candidate):
            continue
        assert candidate is not None
        while True:
            following = trigger.get_next_fire_time(candidate, candidate)
            if not early(following):
                return _utc(candidate)
            assert following is not None
            candidate = following
    return None


def window_for(spec: DigestSpec, fire: dt.datetime) -> tuple[dt.datetime, str]:
    """(start, period): a digest covers the time since its previous firing, at most a week."""
    previous = latest_fire(spec.trigger(), fire, strict=True)
    start = max(previous or fire - MAX_WINDOW, fire - MAX_WINDOW)
    return start, "weekly" if fire - start >= WEEKLY_FROM else "daily"


def due_fire(spec: DigestSpec, now: dt.datetime) -> dt.datetime | None:
    fire = latest_fire(spec.trigger(), now)
    if fire is None or now - fire > GRACE:
        return None
    if spec.not_before is not None and fire < spec.not_before.replace(microsecond=0):
        return None
    return fire


# ------------------------------------------------------------------ runs


async def _create_run(session: AsyncSession, values: dict[str, Any]) -> int | None:
    values = {**values, "status": "pending", "created_at": utcnow()}
    statement = (
        insert_ignore(session, DigestRun)
        .values(**values)
        .on_conflict_do_nothing(index_elements=["digest_key", "fire_time"])
        .returning(DigestRun.id)
    )
    run_id = (await session.execute(statement)).scalar_one_or_none()
    if run_id is not None:
        await changed(session, DigestRun, id=run_id, **values)
        await tasks.enqueue(session, TASK_BUILD, {"run": run_id}, key=f"{TASK_BUILD}:{run_id}")
    return run_id


async def create_due_runs(
    session: AsyncSession, in_force: Sequence[DigestSpec], now: dt.datetime
) -> list[int]:
    """A run for every digest due at `now` that has none yet; the ids created here."""
    created = []
    for spec in in_force:
        fire = due_fire(spec, now)
        if fire is None:
            continue
        start, period = window_for(spec, fire)
        run_id = await _create_run(
            session,
            {
                "digest_key": spec.key,
                "channel": spec.channel,
                "timezone": spec.timezone,
                "period": period,
                "fire_time": fire,
                "window_start": start,
                "post_empty": spec.post_empty,
                "unanswered_hours": spec.unanswered_hours,
            },
        )
        if run_id is not None:
            created.append(run_id)
    return created


def spec_for(in_force: Sequence[DigestSpec], channel: str) -> DigestSpec | None:
    return next((spec for spec in in_force if spec.channel == channel), None)


def usual_period(spec: DigestSpec | None, now: dt.datetime) -> str:
    """daily or weekly: what the channel's scheduled digest covers (daily when there is none)."""
    if spec is None:
        return "daily"
    return window_for(spec, latest_fire(spec.trigger(), now) or now)[1]


async def request_now(
    session: AsyncSession,
    in_force: Sequence[DigestSpec],
    channel: str,
    user: str,
    fallback_timezone: str,
    now: dt.datetime | None = None,
) -> DigestRun:
    """A digest of the channel's usual period, ending now, posted even if there is little."""
    # Not rounded down: a message posted a moment ago, in this very second, belongs in it.
    now = (now or utcnow()).astimezone(dt.UTC)
    spec = spec_for(in_force, channel)
    weekly = usual_period(spec, now) == "weekly"
    span = dt.timedelta(days=7 if weekly else 1)
    run_id = await _create_run(
        session,
        {
            "digest_key": f"now:{channel}:{uuid.uuid4().hex}",
            "channel": channel,
            "timezone": spec.timezone if spec else fallback_timezone,
            "period": "weekly" if weekly else "daily",
            "fire_time": now,
            "window_start": now - span,
            "post_empty": True,
            "unanswered_hours": spec.unanswered_hours if spec else 4.0,
            "requested_by": user,
        },
    )
    assert run_id is not None  # a fresh key cannot conflict
    run = await session.get(DigestRun, run_id)
    assert run is not None
    return run


def has_content(snapshot: dict[str, Any]) -> bool:
    return any(snapshot.get(name) for name in ("incidents", "ci", "agents", "standups", "activity"))


async def store_snapshot(session: AsyncSession, run_id: int, snapshot: dict[str, Any]) -> str:
    """Keep what the digest says and post it (a view), unless there is nothing to say."""
    run = await session.get(DigestRun, run_id, with_for_update=True)
    if run is None or run.status != "pending":
        return run.status if run else "missing"
    run.snapshot = snapshot
    if not has_content(snapshot) and not run.post_empty:
        run.status = "empty"
        return run.status
    run.status = "ready"
    if run.period == "weekly":
        await tasks.enqueue(session, TASK_CHART, {"run": run.id}, key=f"{TASK_CHART}:{run.id}")
    return run.status


# ------------------------------------------------------------------ the channel's own schedule


async def set_schedule(
    session: AsyncSession,
    channel: str,
    *,
    cadence: str,
    weekday: int | None,
    minute_of_day: int,
    timezone: str,
    user: str,
) -> DigestSchedule:
    row = await session.get(DigestSchedule, channel)
    if row is None:
        row = DigestSchedule(channel=channel, set_by=user)
        session.add(row)
    row.enabled = True
    row.cadence = cadence
    row.weekday = weekday if cadence == "weekly" else None
    row.minute_of_day = minute_of_day
    row.timezone = timezone
    row.set_by = user
    row.updated_at = utcnow()
    await session.flush()
    return row


async def turn_off(session: AsyncSession, channel: str, user: str) -> None:
    row = await session.get(DigestSchedule, channel)
    if row is None:
        row = DigestSchedule(channel=channel, set_by=user)
        session.add(row)
    row.enabled = False
    row.set_by = user
    row.updated_at = utcnow()
    await session.flush()


def next_fire(spec: DigestSpec, now: dt.datetime) -> dt.datetime | None:
    found = spec.trigger().get_next_fire_time(None, now)
    return _utc(found) if found else None
