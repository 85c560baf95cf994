"""Retention: raw payloads go when the work is done, and one job prunes old bookkeeping rows."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import func, select

from bot.app import build_runtime
from bot.config import Settings
from bot.core import ledger, tasks
from bot.core.db import make_engine, make_sessionmaker, transaction, utcnow
from bot.core.metrics import Metrics
from bot.core.scheduler import JobFiring, prune_firings


async def test_a_done_task_keeps_no_payload_and_a_dead_one_keeps_its_own(db_url: str) -> None:
    engine = make_engine(db_url)
    sessions = make_sessionmaker(engine)
    runner = tasks.TaskRunner(sessions, "r1", Metrics(), sweep_seconds=0.05, max_attempts=1)

    async def ok(payload: dict[str, Any]) -> None:
        return None

    async def broken(payload: dict[str, Any]) -> None:
        raise RuntimeError("boom")

    runner.register("ok", ok)
    runner.register("broken", broken)
    async with transaction(sessions) as session:
        await tasks.enqueue(session, "ok", {"event": {"text": "hello"}})
        await tasks.enqueue(session, "broken", {"event": {"text": "inspect me"}})
    runner.start()
    try:
        await runner.drain()
    finally:
        await runner.stop()
    async with sessions() as session:
        rows = {t.kind: t for t in (await session.scalars(select(tasks.Task))).all()}
    assert rows["ok"].status == "done" and rows["ok"].payload == {}
    assert rows["broken"].status == "dead"
    assert rows["broken"].payload == {"event": {"text": "inspect me"}}
    assert rows["broken"].finished_at is not None
    await engine.dispose()


async def _count(sessions: Any, model: Any) -> int:
    async with sessions() as session:
        return int(await session.scalar(select(func.count()).select_from(model)) or 0)


async def test_retention_job_deletes_old_rows_and_keeps_young_ones(db_url: str) -> None:
    settings = Settings(
        database_url=db_url,
        retention={"tasks_days": 7, "dead_tasks_days": 30, "job_firings_days": 7, "ledger_days": 7},
    )
    rt = build_runtime(settings)
    now = utcnow()
    old, young = now - dt.timedelta(days=8), now - dt.timedelta(days=6)
    ancient, recent_dead = now - dt.timedelta(days=31), now - dt.timedelta(days=29)
    async with transaction(rt.sessions) as session:
        for status, finished in [
            ("done", old),
            ("done", young),
            ("dead", ancient),
            ("dead", recent_dead),
            ("pending", ancient),  # never pruned: work still to do
        ]:
            session.add(
                tasks.Task(
                    kind="demo",
                    payload={},
                    status=status,
                    created_at=finished,
                    run_after=finished,
                    finished_at=None if status == "pending" else finished,
                )
            )
        for at in (old, young):
            session.add(JobFiring(job="demo", fire_time=at, owner="r1", claimed_at=at))
            session.add(ledger.ProcessedEvent(source="slack", key=f"Ev{at}", received_at=at))
    try:
        await rt.scheduler.run_now("core.prune_ledger")
        async with rt.sessions() as session:
            left = sorted(
                (t.status, t.finished_at or t.created_at)
                for t in (await session.scalars(select(tasks.Task))).all()
            )
            firings = (await session.scalars(select(JobFiring.fire_time))).all()
            events = (await session.scalars(select(ledger.ProcessedEvent.received_at))).all()
        assert [status for status, _ in left] == ["dead", "done", "pending"]
        assert [f.replace(microsecond=0) for f in firings] == [young.replace(microsecond=0)]
        assert [e.replace(microsecond=0) for e in events] == [young.replace(microsecond=0)]
    finally:
        await rt.engine.dispose()


async def test_pruning_goes_in_batches(db_url: str) -> None:
    engine = make_engine(db_url)
    sessions = make_sessionmaker(engine)
    long_ago = utcnow() - dt.timedelta(days=30)
    async with transaction(sessions) as session:
        for n in range(25):
            session.add(JobFiring(job=f"j{n}", fire_time=long_ago, owner="r1", claimed_at=long_ago))
        session.add(JobFiring(job="fresh", fire_time=utcnow(), owner="r1", claimed_at=utcnow()))
    deleted = await prune_firings(sessions, utcnow() - dt.timedelta(days=7), batch=10)
    assert deleted == 25 and await _count(sessions, JobFiring) == 1
    await engine.dispose()
