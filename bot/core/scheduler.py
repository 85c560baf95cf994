"""Scheduled jobs that run once per firing across any number of replicas.

Every replica runs the same APScheduler triggers. When a trigger fires, the replica first inserts
a claim row unique on (job, fire time); only the replica whose insert lands runs the job. Interval
triggers share one fixed origin so every replica computes the same fire times.
"""

from __future__ import annotations

import datetime as dt
import logging
import math
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from apscheduler.events import EVENT_JOB_MISSED, JobEvent
from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.base import BaseTrigger
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger
from sqlalchemy import String, UniqueConstraint
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlalchemy.orm import Mapped, mapped_column

from bot.core.db import (
    PRUNE_BATCH,
    Base,
    UTCDateTime,
    affected,
    insert_ignore,
    prune_in_batches,
    transaction,
    utcnow,
)
from bot.core.metrics import Metrics
from bot.core.workspaces import Workspace, within

log = logging.getLogger(__name__)

INTERVAL_ORIGIN = dt.datetime(2020, 1, 1, tzinfo=dt.UTC)
JobFunc = Callable[[], Awaitable[None]]


class JobFiring(Base):
    __tablename__ = "job_firings"
    __table_args__ = (UniqueConstraint("job", "fire_time"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    job: Mapped[str] = mapped_column(String(128))
    fire_time: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    owner: Mapped[str] = mapped_column(String(128))
    claimed_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)


@dataclass
class JobSpec:
    name: str
    func: JobFunc
    description: str
    every_seconds: float | None = None
    cron: str | None = None
    timezone: str = "UTC"
    # Runs within each workspace served (`bot.core.known_workspaces`); False: the org's or
    # the process's work, run once outside any workspace.
    per_workspace: bool = True

    def trigger(self) -> BaseTrigger:
        if self.every_seconds:
            return IntervalTrigger(seconds=self.every_seconds, start_date=INTERVAL_ORIGIN)
        assert self.cron, f"job {self.name} needs every_seconds or cron"
        return CronTrigger.from_crontab(self.cron, timezone=self.timezone)

    def schedule_text(self) -> str:
        if self.every_seconds:
            return f"every {self.every_seconds:g}s"
        return f"cron '{self.cron}' ({self.timezone})"

    def fire_time(self, now: dt.datetime) -> dt.datetime:
        """The firing `now` belongs to; the same on every replica."""
        if self.every_seconds:
            elapsed = (now - INTERVAL_ORIGIN).total_seconds()
            steps = math.floor(elapsed / self.every_seconds + 1e-6)
            return INTERVAL_ORIGIN + dt.timedelta(seconds=steps * self.every_seconds)
        trigger = self.trigger()
        # A cron firing is at most a few seconds late; look back 30 s for the one that fired.
        fired = trigger.get_next_fire_time(None, now - dt.timedelta(seconds=30))
        return (fired or now).astimezone(dt.UTC).replace(microsecond=0)


async def prune_firings(
    sessions: async_sessionmaker[AsyncSession], cutoff: dt.datetime, batch: int = PRUNE_BATCH
) -> int:
    """Forget claims made before ``cutoff``: triggers look back at most 30 s, so a claim that old
    guards nothing. The claim's own time counts, not the firing's, so a job run now for a past
    minute (`opsbot jobs run`, another replica's late firing) keeps its claim while it runs."""
    return await prune_in_batches(sessions, JobFiring, JobFiring.claimed_at < cutoff, batch)


async def claim_firing(session: AsyncSession, job: str, fire_time: dt.datetime, owner: str) -> bool:
    statement = (
        insert_ignore(session, JobFiring)
        .values(job=job, fire_time=fire_time, owner=owner, claimed_at=utcnow())
        .on_conflict_do_nothing(index_elements=["job", "fire_time"])
    )
    return affected(await session.execute(statement)) == 1


class Scheduler:
    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        owner: str,
        metrics: Metrics,
        workspaces: Callable[[], Awaitable[list[Workspace | None]]] | None = None,
    ) -> None:
        self.sessions = sessions
        self.workspaces = workspaces
        self.owner = owner
        self.metrics = metrics
        self.jobs: dict[str, JobSpec] = {}
        self._scheduler: AsyncIOScheduler | None = None

    def register(self, spec: JobSpec) -> None:
        if spec.name in self.jobs:
            raise ValueError(f"job {spec.name} registered twice")
        self.jobs[spec.name] = spec

    def start(self) -> None:
        self._scheduler = AsyncIOScheduler(timezone=dt.UTC)
        for spec in self.jobs.values():
            self._scheduler.add_job(
                self.fire,
                spec.trigger(),
                args=[spec.name],
                id=spec.name,
                coalesce=True,
                max_instances=1,
                misfire_grace_time=30,
            )
        self._scheduler.add_listener(self._missed, EVENT_JOB_MISSED)
        self._scheduler.start()

    def _missed(self, event: JobEvent) -> None:
        """This process woke too late for a firing (its loop blocked, or it was paused) and let
        it go; another replica may have run it. APScheduler logs it; this counts it."""
        self.metrics.jobs.labels(event.job_id, "missed").inc()

    async def stop(self) -> None:
        if self._scheduler and self._scheduler.running:
            self._scheduler.shutdown(wait=False)

    async def fire(self, name: str, now: dt.datetime | None = None) -> bool:
        """Run job `name` for the firing `now` falls in, unless another replica has it."""
        spec = self.jobs[name]
        fire_time = spec.fire_time(now or utcnow())
        async with transaction(self.sessions) as session:
            claimed = await claim_firing(session, name, fire_time, self.owner)
        if not claimed:
            self.metrics.jobs.labels(name, "skipped").inc()
            return False
        await self._run(spec)
        return True

    async def run_now(self, name: str) -> None:
        """Run a job at once, outside its schedule (`opsbot jobs run NAME`)."""
        if name not in self.jobs:
            known = ", ".join(sorted(self.jobs)) or "none"
            raise KeyError(f"no job named {name!r}; jobs: {known}")
        await self._run(self.jobs[name])

    async def _run(self, spec: JobSpec) -> None:
        """Run the job, within each workspace if it is per workspace: one failing workspace
        does not keep the others from theirs; its error is raised after all ran."""
        served: list[Workspace | None] = [None]
        if spec.per_workspace and self.workspaces is not None:
            served = await self.workspaces()
        failure: Exception | None = None
        for workspace in served:
            try:
                with within(workspace):
                    await spec.func()
            except Exception as error:
                where = f" in workspace {workspace.team_id}" if workspace else ""
                log.exception("job %s failed%s", spec.name, where)
                failure = failure or error
        if failure is not None:
            self.metrics.jobs.labels(spec.name, "failed").inc()
            raise failure
        self.metrics.jobs.labels(spec.name, "ok").inc()
