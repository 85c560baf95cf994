"""The one leased-row worker loop: claims in one statement, never the same row twice at once."""

from __future__ import annotations

import asyncio
import datetime as dt
import time

import pytest
from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.core import tasks
from bot.core.db import make_engine, make_sessionmaker, transaction, utcnow
from bot.core.tasks import TASKS_DUE, Task
from bot.core.worker import LeasedWorker


async def _ignore(_row: Task) -> None:
    return None


def _worker(
    sessions: async_sessionmaker[AsyncSession], owner: str, lease_seconds: float = 30.0
) -> LeasedWorker[Task]:
    return LeasedWorker(
        "tasks",
        sessions,
        TASKS_DUE,
        owner,
        _ignore,
        concurrency=8,
        lease_seconds=lease_seconds,
        sweep_seconds=1.0,
    )


async def _add(sessions: async_sessionmaker[AsyncSession], count: int) -> None:
    async with transaction(sessions) as session:
        await tasks.enqueue_many(session, "t", [{"n": n} for n in range(count)])


async def test_replicas_claiming_together_never_take_the_same_row(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    await _add(sessions, 60)
    replicas = [_worker(sessions, f"replica-{n}") for n in range(3)]
    taken: dict[str, list[int]] = {worker.owner: [] for worker in replicas}

    async def claim_until_empty(worker: LeasedWorker[Task]) -> None:
        while rows := await worker.claim(7):
            taken[worker.owner] += [row.id for row in rows]
            assert all(row.lease_owner == worker.owner for row in rows)

    await asyncio.gather(*(claim_until_empty(worker) for worker in replicas))
    every = [row_id for ids in taken.values() for row_id in ids]
    assert len(every) == 60 and len(set(every)) == 60
    async with sessions() as session:
        grouped = await session.execute(
            select(Task.lease_owner, func.count()).group_by(Task.lease_owner)
        )
        owners = {owner: count for owner, count in grouped}
    assert owners == {owner: len(ids) for owner, ids in taken.items() if ids}


async def test_a_row_locked_by_another_replica_is_skipped_not_waited_for(
    sessions: async_sessionmaker[AsyncSession], db_url: str
) -> None:
    """On PostgreSQL a replica claiming while another holds a row's lock takes the next rows at
    once (SKIP LOCKED) instead of queueing behind that transaction."""
    if not db_url.startswith("postgresql"):
        pytest.skip("SQLite has one writer at a time: there is no row lock to skip")
    await _add(sessions, 3)
    async with transaction(sessions) as holder:
        first = await holder.scalar(select(Task.id).order_by(Task.id).limit(1).with_for_update())
        claimed = await asyncio.wait_for(_worker(sessions, "b").claim(3), timeout=5)
    assert first not in {row.id for row in claimed}
    assert len(claimed) == 2


async def test_a_claim_returns_the_rows_in_due_order_up_to_the_limit(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    await _add(sessions, 5)
    rows = await _worker(sessions, "a").claim(3)
    assert sorted(row.payload["n"] for row in rows) == [0, 1, 2]
    assert all(row.kind == "t" and row.status == "pending" for row in rows)


async def test_a_live_lease_is_left_alone_and_a_lapsed_one_is_taken_over(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    await _add(sessions, 1)
    [mine] = await _worker(sessions, "a").claim(5)
    assert await _worker(sessions, "b").claim(5) == []
    async with transaction(sessions) as session:  # replica a died: its lease ran out
        await session.execute(update(Task).values(lease_expires=utcnow() - dt.timedelta(seconds=1)))
    [taken] = await _worker(sessions, "b").claim(5)
    assert taken.id == mine.id and taken.lease_owner == "b"


async def test_rows_not_yet_due_are_not_claimed(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    async with transaction(sessions) as session:
        await tasks.enqueue(session, "t", {}, delay=60)
    assert await _worker(sessions, "a").claim(5) == []


async def test_the_loop_runs_every_due_row_once_with_bounded_slots(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    await _add(sessions, 30)
    handled: list[int] = []
    at_once = 0
    most = 0

    async def handle(row: Task) -> None:
        nonlocal at_once, most
        at_once += 1
        most = max(most, at_once)
        await asyncio.sleep(0.01)
        handled.append(row.id)
        at_once -= 1
        async with transaction(sessions) as session:
            await session.execute(
                update(Task).where(Task.id == row.id).values(status="done", lease_owner=None)
            )

    worker = LeasedWorker(
        "tasks",
        sessions,
        TASKS_DUE,
        "a",
        handle,
        concurrency=4,
        lease_seconds=30,
        sweep_seconds=0.05,
    )
    worker.start()
    try:
        for _ in range(400):
            if len(handled) >= 30:
                break
            await asyncio.sleep(0.02)
    finally:
        await worker.stop()
    assert sorted(handled) == sorted(set(handled)) and len(handled) == 30
    assert 1 < most <= 4


async def test_tasks_finishing_together_are_marked_done_in_one_statement(db_url: str) -> None:
    from sqlalchemy import event

    from bot.core.metrics import Metrics
    from bot.core.tasks import TaskRunner

    engine = make_engine(db_url)
    sessions = make_sessionmaker(engine)
    completions: list[str] = []

    def count(_conn: object, _cursor: object, statement: str, *_: object) -> None:
        words = statement.upper()
        assignments = words.split(" WHERE ")[0]
        if words.lstrip().startswith("UPDATE TASKS SET") and "FINISHED_AT" in assignments:
            completions.append(statement)

    event.listen(engine.sync_engine, "before_cursor_execute", count)
    runner = TaskRunner(sessions, "a", Metrics(), concurrency=8, sweep_seconds=0.05)
    release = asyncio.Event()
    ran: list[int] = []

    async def handler(payload: dict[str, object]) -> None:
        await release.wait()  # all eight finish at the same moment
        ran.append(int(str(payload["n"])))

    runner.register("t", handler)
    await _add(sessions, 8)
    runner.start()
    try:
        for _ in range(200):
            if len(runner.worker.active) == 8:
                break
            await asyncio.sleep(0.01)
        release.set()
        await runner.drain(timeout=10)
    finally:
        await runner.stop()
    async with sessions() as session:
        done = await session.scalar(
            select(func.count()).select_from(Task).where(Task.status == "done")
        )
    await engine.dispose()
    assert sorted(ran) == list(range(8)) and done == 8
    assert 1 <= len(completions) <= 2, completions


async def _running(worker: LeasedWorker[Task], count: int) -> None:
    for _ in range(300):
        if len(worker.active) == count:
            return
        await asyncio.sleep(0.01)
    raise AssertionError(f"{len(worker.active)} running, not {count}")


async def test_stop_lets_running_rows_finish_within_the_grace(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    await _add(sessions, 2)
    finished: list[int] = []

    async def slow(row: Task) -> None:
        await asyncio.sleep(0.3)
        finished.append(row.id)

    worker = LeasedWorker(
        "tasks", sessions, TASKS_DUE, "a", slow, concurrency=4, lease_seconds=30, sweep_seconds=1
    )
    worker.start()
    await _running(worker, 2)
    await worker.stop(grace=5)
    assert len(finished) == 2 and worker.active == set()


async def test_stop_gives_back_what_cannot_finish_and_another_replica_takes_it_at_once(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    await _add(sessions, 3)

    async def stuck(_row: Task) -> None:
        await asyncio.Event().wait()

    worker = LeasedWorker(
        "tasks", sessions, TASKS_DUE, "a", stuck, concurrency=4, lease_seconds=30, sweep_seconds=1
    )
    worker.start()
    await _running(worker, 3)
    started = time.monotonic()
    await worker.stop(grace=0.2)
    assert time.monotonic() - started < 2
    async with sessions() as session:
        held = await session.scalar(
            select(func.count()).select_from(Task).where(Task.lease_owner.is_not(None))
        )
    assert held == 0
    assert len(await _worker(sessions, "b").claim(5)) == 3  # not after the 30 s lease
