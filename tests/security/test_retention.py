"""Retention: raw payloads go when the work is done, and one job prunes old bookkeeping rows."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import event, insert, select

from bot.app import build_runtime
from bot.config import Settings
from bot.core import ledger, tasks
from bot.core.db import make_engine, make_sessionmaker, transaction, utcnow
from bot.core.installations import oauth_states_table
from bot.core.metrics import Metrics
from bot.core.ratebudget import RateBudget
from bot.core.scheduler import JobFiring, JobSpec, prune_firings


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


async def test_retention_job_deletes_old_rows_and_keeps_young_ones(db_url: str) -> None:
    settings = Settings(
        database_url=db_url,
        retention={"tasks_days": 7, "dead_tasks_days": 30, "job_firings_days": 7, "ledger_days": 7},
    )
    rt = build_runtime(settings)
    now = utcnow()
    old, young = now - dt.timedelta(days=8), now - dt.timedelta(days=6)
    ancient, recent_dead = now - dt.timedelta(days=31), now - dt.timedelta(days=29)
    hour_ago = now - dt.timedelta(hours=1)
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
        # A channel's rate budget idle for two days goes; one used an hour ago stays.
        for scope, at in (("C0LEFT", now - dt.timedelta(days=2)), ("C0BUSY", hour_ago)):
            session.add(
                RateBudget(method="chat.update", scope=scope, capacity=5, rate=1, tokens=5,
                           updated_at=at, paused_until=None)
            )  # fmt: skip
        # An install page left open: its state expired; one being used now stays.
        states = [("left", now - dt.timedelta(minutes=1)), ("live", now + dt.timedelta(minutes=5))]
        await session.execute(
            insert(oauth_states_table),
            [{"state": state, "expire_at": at.replace(tzinfo=None)} for state, at in states],
        )
    try:
        await rt.scheduler.run_now("core.prune_ledger")
        async with rt.sessions() as session:
            left = sorted(
                (t.status, t.finished_at or t.created_at)
                for t in (await session.scalars(select(tasks.Task))).all()
            )
            firings = (await session.scalars(select(JobFiring.fire_time))).all()
            events = (await session.scalars(select(ledger.ProcessedEvent.received_at))).all()
            budgets = (await session.scalars(select(RateBudget.scope))).all()
            kept_states = (await session.scalars(select(oauth_states_table.c.state))).all()
        assert budgets == ["C0BUSY"]
        assert kept_states == ["live"]
        assert [status for status, _ in left] == ["dead", "done", "pending"]
        assert [f.replace(microsecond=0) for f in firings] == [young.replace(microsecond=0)]
        assert [e.replace(microsecond=0) for e in events] == [young.replace(microsecond=0)]
    finally:
        await rt.engine.dispose()


async def test_firing_claims_are_forgotten_by_when_they_were_claimed_not_by_their_minute(
    db_url: str,
) -> None:
    """A job run now for a past minute (another replica's late firing) keeps its claim through
    the retention job, so no replica can run that minute again; a claim made long ago goes."""
    settings = Settings(database_url=db_url, retention={"job_firings_days": 7})
    rt = build_runtime(settings)
    runs: list[str] = []

    async def demo() -> None:
        runs.append("demo")

    rt.scheduler.register(JobSpec(name="demo", func=demo, description="demo", every_seconds=60))
    now = utcnow()
    past_minute = now - dt.timedelta(days=30)
    try:
        # Claimed through the real path: fire_time is the minute 30 days ago, claimed_at is now.
        assert await rt.scheduler.fire("demo", now=past_minute)
        stale_minute = rt.scheduler.jobs["demo"].fire_time(past_minute - dt.timedelta(hours=1))
        async with transaction(rt.sessions) as session:
            session.add(
                JobFiring(job="demo", fire_time=stale_minute, owner="r2", claimed_at=past_minute)
            )
        await rt.scheduler.run_now("core.prune_ledger")
        async with rt.sessions() as session:
            left = (await session.execute(select(JobFiring.fire_time, JobFiring.claimed_at))).all()
        # Pruning by the firing's minute would take both rows; by the claim, only the stale one.
        assert len(left) == 1, f"expected only the claim made now to stay, found {left}"
        ((fire_time, claimed_at),) = left
        assert fire_time == rt.scheduler.jobs["demo"].fire_time(past_minute)
        assert claimed_at > now - dt.timedelta(minutes=5)
        # The kept claim still guards its minute: a second replica cannot run it again.
        assert not await rt.scheduler.fire("demo", now=past_minute)
        assert runs == ["demo"]
    finally:
        await rt.engine.dispose()


async def test_pruning_goes_in_batches(db_url: str) -> None:
    engine = make_engine(db_url)
    sessions = make_sessionmaker(engine)
    now = utcnow()
    long_ago, cutoff = now - dt.timedelta(days=30), now - dt.timedelta(days=7)
    batch, eligible = 10, 25
    async with transaction(sessions) as session:
        for n in range(eligible):
            session.add(
                JobFiring(job=f"old{n}", fire_time=long_ago, owner="r1", claimed_at=long_ago)
            )
        for n in range(3):  # claimed after the cutoff: must stay
            session.add(JobFiring(job=f"fresh{n}", fire_time=now, owner="r1", claimed_at=now))

    deleted_rows: list[int] = []

    def count_deletes(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        if statement.lstrip().upper().startswith("DELETE"):
            deleted_rows.append(cursor.rowcount)

    event.listen(engine.sync_engine, "after_cursor_execute", count_deletes)
    try:
        deleted = await prune_firings(sessions, cutoff, batch=batch)
    finally:
        event.remove(engine.sync_engine, "after_cursor_execute", count_deletes)
    async with sessions() as session:
        jobs = sorted((await session.scalars(select(JobFiring.job))).all())
    await engine.dispose()

    assert deleted == eligible
    assert len(deleted_rows) > 1, f"all {eligible} rows went in {len(deleted_rows)} DELETE"
    # One DELETE per full batch, then one for the rest: 10, 10, 5.
    expected = [batch] * (eligible // batch) + [eligible % batch]
    assert deleted_rows == expected, f"rows per DELETE: {deleted_rows}"
    assert sum(deleted_rows) == eligible
    assert jobs == ["fresh0", "fresh1", "fresh2"], "pruning left an old row or took a fresh one"
