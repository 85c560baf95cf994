"""Prometheus metrics, one registry per process so several bots can live in one test run.

Besides the counters the code increments, a scrape reads the work waiting in the database
(`StoreCollector`) and the process's own figures (CPU, memory, file descriptors, GC).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
from collections.abc import Iterable, Iterator

from prometheus_client import (
    CollectorRegistry,
    Counter,
    GCCollector,
    Histogram,
    PlatformCollector,
    ProcessCollector,
    generate_latest,
)
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.metrics_core import Metric
from prometheus_client.registry import Collector
from sqlalchemy import and_, func, or_, select, text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

log = logging.getLogger(__name__)

# Every Web API call this process makes, whichever client made it: the count belongs to the
# process, not to one runtime, because Bolt and the SDK build clients of their own from ours.
# Each runtime's registry exposes it (a collector may sit in several registries).
SLACK_CALLS = Counter(
    "opsbot_slack_api_calls_total",
    "Slack Web API calls (every attempt, retries included) by method and result: ok, "
    "ratelimited, Slack's error code, or transport_error",
    ["method", "result"],
    registry=None,
)


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        # CPU, memory, open files, start time (Linux), the Python version and GC pauses.
        ProcessCollector(registry=self.registry)
        PlatformCollector(registry=self.registry)
        GCCollector(registry=self.registry)
        self.requests = Counter(
            "opsbot_http_requests_total",
            "HTTP requests by route and status",
            ["route", "status"],
            registry=self.registry,
        )
        self.latency = Histogram(
            "opsbot_http_request_seconds",
            "Time to answer an HTTP request",
            ["route"],
            buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 3),
            registry=self.registry,
        )
        self.tasks = Counter(
            "opsbot_tasks_total", "Durable tasks run", ["kind", "result"], registry=self.registry
        )
        self.projector = Counter(
            "opsbot_projector_syncs_total",
            "Slack views synced by the projector",
            ["kind", "result"],
            registry=self.registry,
        )
        self.slack_calls = SLACK_CALLS
        self.registry.register(SLACK_CALLS)
        self.jobs = Counter(
            "opsbot_jobs_total",
            "Scheduled job firings: ok, failed, skipped (another replica ran that firing) or "
            "missed (the scheduler woke too late for it)",
            # Not `job`: Prometheus sets that label on every series to the scrape job's name.
            ["job_name", "result"],
            registry=self.registry,
        )
        self.inbox_commits = Counter(
            "opsbot_inbox_commits_total",
            "Transactions that stored deliveries at the acknowledgement (deliveries arriving "
            "together share one)",
            ["source"],
            registry=self.registry,
        )
        self.store: StoreCollector | None = None

    def watch_store(self, sessions: async_sessionmaker[AsyncSession]) -> None:
        """Read backlog, dead tasks and projector lag from this database at every scrape."""
        if self.store is None:
            self.store = StoreCollector(sessions)
            self.registry.register(self.store)

    async def scrape(self) -> bytes:
        """The exposition text, with the database's figures read now."""
        if self.store is not None:
            await self.store.refresh()
        return self.render()

    def render(self) -> bytes:
        return generate_latest(self.registry)


class StoreCollector(Collector):
    """Work waiting in the database, read at scrape time in two GROUP BY queries.

    `collect` is synchronous (prometheus-client's contract) and the database is not, so the
    scrape handler awaits `refresh` first and `collect` yields what it read. A database that
    does not answer within `timeout` leaves these series out and sets opsbot_database_up to 0:
    the scrape itself still answers, so process and request metrics stay visible in an outage.
    """

    def __init__(self, sessions: async_sessionmaker[AsyncSession], timeout: float = 2.0) -> None:
        self.sessions = sessions
        self.timeout = timeout
        self._families: list[Metric] = []
        self._lock = asyncio.Lock()

    def describe(self) -> Iterable[Metric]:
        return []  # the series vary with the data: registration must not call collect()

    def collect(self) -> Iterator[Metric]:
        yield from self._families

    async def refresh(self) -> None:
        async with self._lock:  # scrapes arriving together share one read
            up = GaugeMetricFamily(
                "opsbot_database_up", "Whether the database answered the last scrape's queries"
            )
            try:
                families = await asyncio.wait_for(self._read(), self.timeout)
            except Exception as error:  # the reason only: a message may name the host
                log.warning("metrics: database figures unavailable (%s)", type(error).__name__)
                up.add_metric([], 0)
                self._families = [up]
                return
            up.add_metric([], 1)
            self._families = [up, *families]

    async def _read(self) -> list[Metric]:
        # Imported here: the task and projector modules import this one for their counters.
        from bot.core.db import utcnow
        from bot.core.projector import DIRTY, Projection
        from bot.core.tasks import Task

        now = utcnow()
        backlog = GaugeMetricFamily(
            "opsbot_task_backlog", "Tasks due and not done, by kind", labels=["kind"]
        )
        oldest = GaugeMetricFamily(
            "opsbot_task_oldest_seconds",
            "How long the oldest due task of each kind has been waiting",
            labels=["kind"],
        )
        dead = GaugeMetricFamily(
            "opsbot_tasks_dead",
            "Tasks that gave up after their last attempt and wait for an operator "
            "(opsbot tasks list --dead)",
            labels=["kind"],
        )
        async with self.sessions() as session:
            # Both branches of the filter are served by ix_tasks_due (status, run_after).
            rows = await session.execute(
                select(Task.kind, Task.status, func.count(), func.min(Task.run_after))
                .where(
                    or_(
                        and_(Task.status == "pending", Task.run_after <= now),
                        Task.status == "dead",
                    )
                )
                .group_by(Task.kind, Task.status)
            )
            for kind, status, count, first in rows:
                if status == "dead":
                    dead.add_metric([kind], count)
                    continue
                backlog.add_metric([kind], count)
                oldest.add_metric([kind], _age(now, first))
            # The partial index's own predicate, so only dirty rows are read.
            dirty_count, first_dirty = (
                await session.execute(
                    select(func.count(), func.min(Projection.updated_at)).where(text(DIRTY))
                )
            ).one()
        dirty = GaugeMetricFamily("opsbot_projector_dirty", "Views waiting to be synced to Slack")
        dirty.add_metric([], dirty_count)
        lag = GaugeMetricFamily(
            "opsbot_projector_lag_seconds",
            "Age of the oldest change not yet shown in Slack (0 when every view is in sync)",
        )
        lag.add_metric([], _age(now, first_dirty))
        return [backlog, oldest, dead, dirty, lag]


def _age(now: dt.datetime, then: dt.datetime | None) -> float:
    return max(0.0, (now - then).total_seconds()) if then is not None else 0.0
