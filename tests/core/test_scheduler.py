"""Scheduled jobs run once per firing, however many replicas fire them."""

from __future__ import annotations

import asyncio
import datetime as dt

from sqlalchemy import select

from bot.core.db import make_engine, make_sessionmaker
from bot.core.metrics import Metrics
from bot.core.scheduler import JobFiring, JobSpec, Scheduler


def test_interval_fire_times_share_one_grid() -> None:
    spec = JobSpec(name="sweep", func=lambda: None, description="", every_seconds=60)  # type: ignore[arg-type]
    at = dt.datetime(2026, 11, 23, 10, 15, 42, tzinfo=dt.UTC)
    assert spec.fire_time(at) == dt.datetime(2026, 11, 23, 10, 15, tzinfo=dt.UTC)
    assert spec.fire_time(at + dt.timedelta(seconds=17)) == spec.fire_time(at)


def test_cron_fire_time_is_the_firing_that_just_happened() -> None:
    spec = JobSpec(
        name="digest",
        func=lambda: None,
        description="",
        cron="0 9 * * mon-fri",  # type: ignore[arg-type]
        timezone="Europe/Paris",
    )
    # 09:00 Paris is 08:00 UTC in November; the trigger fires a couple of seconds late.
    late = dt.datetime(2026, 11, 23, 8, 0, 2, tzinfo=dt.UTC)
    assert spec.fire_time(late) == dt.datetime(2026, 11, 23, 8, 0, tzinfo=dt.UTC)


async def test_three_replicas_run_a_firing_once(db_url: str) -> None:
    engine = make_engine(db_url)
    sessions = make_sessionmaker(engine)
    runs: list[str] = []

    def replica(name: str) -> Scheduler:
        scheduler = Scheduler(sessions, name, Metrics())

        async def job() -> None:
            runs.append(name)

        scheduler.register(JobSpec(name="digest", func=job, description="", cron="0 9 * * *"))
        return scheduler

    replicas = [replica(f"r{i}") for i in range(3)]
    now = dt.datetime(2026, 11, 23, 9, 0, 1, tzinfo=dt.UTC)
    results = await asyncio.gather(*(r.fire("digest", now) for r in replicas))
    assert sorted(results) == [False, False, True] and len(runs) == 1
    # The next day's firing is a new claim.
    assert await replicas[1].fire("digest", now + dt.timedelta(days=1))
    async with sessions() as session:
        firings = (await session.scalars(select(JobFiring).order_by(JobFiring.fire_time))).all()
    assert [f.fire_time.day for f in firings] == [23, 24]
    await engine.dispose()


async def test_run_now_rejects_unknown_jobs(db_url: str) -> None:
    engine = make_engine(db_url)
    scheduler = Scheduler(make_sessionmaker(engine), "r", Metrics())
    try:
        await scheduler.run_now("nope")
    except KeyError as error:
        assert "no job named 'nope'" in str(error)
    else:
        raise AssertionError("run_now accepted an unknown job")
    await engine.dispose()
