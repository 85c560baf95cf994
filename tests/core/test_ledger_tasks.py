"""Dedupe ledger and durable tasks, on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
import datetime as dt
from typing import Any

from sqlalchemy import func, select, update

from bot.core import ledger, tasks
from bot.core.db import make_engine, make_sessionmaker, transaction, utcnow
from bot.core.metrics import Metrics


async def _sessions(url: str):  # type: ignore[no-untyped-def]
    engine = make_engine(url)
    return engine, make_sessionmaker(engine)


async def test_claim_is_true_once_per_key(db_url: str) -> None:
    engine, sessions = await _sessions(db_url)
    async with transaction(sessions) as session:
        assert await ledger.claim(session, "slack", "Ev1")
        assert not await ledger.claim(session, "slack", "Ev1")
        assert await ledger.claim(session, "github", "Ev1")  # sources do not collide
    async with transaction(sessions) as session:
        assert not await ledger.claim(session, "slack", "Ev1")
        count = await session.scalar(select(func.count()).select_from(ledger.ProcessedEvent))
    assert count == 2
    await engine.dispose()


async def test_concurrent_claims_let_exactly_one_through(db_url: str) -> None:
    engine, sessions = await _sessions(db_url)

    async def try_claim() -> bool:
        async with transaction(sessions) as session:
            return await ledger.claim(session, "slack", "EvRace")

    results = await asyncio.gather(*(try_claim() for _ in range(8)))
    assert sorted(results) == [False] * 7 + [True]
    await engine.dispose()


async def test_a_rolled_back_claim_leaves_nothing(db_url: str) -> None:
    engine, sessions = await _sessions(db_url)
    try:
        async with transaction(sessions) as session:
            assert await ledger.claim(session, "slack", "EvCrash")
            raise RuntimeError("crash before commit")
    except RuntimeError:
        pass
    async with transaction(sessions) as session:
        assert await ledger.claim(session, "slack", "EvCrash")  # the retry gets through
    await engine.dispose()


async def test_enqueue_with_key_is_idempotent(db_url: str) -> None:
    engine, sessions = await _sessions(db_url)
    async with transaction(sessions) as session:
        assert await tasks.enqueue(session, "demo", {"n": 1}, key="k1")
        assert not await tasks.enqueue(session, "demo", {"n": 2}, key="k1")
        assert await tasks.enqueue(session, "demo", {"n": 3})
    async with sessions() as session:
        payloads = (await session.scalars(select(tasks.Task.payload))).all()
    assert sorted(p["n"] for p in payloads) == [1, 3]
    await engine.dispose()


def _runner(sessions: Any, owner: str, **kwargs: Any) -> tasks.TaskRunner:
    return tasks.TaskRunner(sessions, owner, Metrics(), sweep_seconds=0.05, **kwargs)


async def test_runner_runs_each_task_once_across_two_replicas(db_url: str) -> None:
    engine, sessions = await _sessions(db_url)
    seen: list[int] = []

    async def handler(payload: dict[str, Any]) -> None:
        await asyncio.sleep(0.001)
        seen.append(payload["n"])

    runners = [_runner(sessions, f"replica-{i}") for i in range(2)]
    for runner in runners:
        runner.register("count", handler)
    async with transaction(sessions) as session:
        for n in range(40):
            await tasks.enqueue(session, "count", {"n": n})
    for runner in runners:
        runner.start()
    await runners[0].drain(timeout=20)
    for runner in runners:
        await runner.stop()
    assert sorted(seen) == list(range(40))
    await engine.dispose()


async def test_failing_task_is_retried_until_it_succeeds(db_url: str) -> None:
    engine, sessions = await _sessions(db_url)
    calls: list[int] = []

    async def flaky(payload: dict[str, Any]) -> None:
        calls.append(1)
        if len(calls) < 3:
            raise ConnectionError("Slack is down")

    runner = _runner(sessions, "r1")
    runner.register("flaky", flaky)
    async with transaction(sessions) as session:
        await tasks.enqueue(session, "flaky", {})
    runner.start()
    # Backoff is seconds long in production; make retries due at once to keep the test fast.
    for _ in range(200):
        async with transaction(sessions) as session:
            await session.execute(update(tasks.Task).values(run_after=utcnow()))
        async with sessions() as session:
            task = (await session.scalars(select(tasks.Task))).one()
        if task.status == "done":
            break
        await asyncio.sleep(0.02)
    await runner.stop()
    assert task.status == "done" and task.attempts == 2 and len(calls) == 3
    assert "Slack is down" in (task.last_error or "")
    await engine.dispose()


async def test_task_of_a_dead_replica_is_taken_over_when_its_lease_lapses(db_url: str) -> None:
    engine, sessions = await _sessions(db_url)
    done: list[str] = []

    async def handler(payload: dict[str, Any]) -> None:
        done.append(payload["id"])

    async with transaction(sessions) as session:
        await tasks.enqueue(session, "work", {"id": "a"})
        # A replica leased it and died: its lease is still live for a moment.
        await session.execute(
            update(tasks.Task).values(
                lease_owner="dead", lease_expires=utcnow() + dt.timedelta(seconds=0.3)
            )
        )
    runner = _runner(sessions, "alive")
    runner.register("work", handler)
    runner.start()
    await asyncio.sleep(0.15)
    assert done == []  # not stolen while the lease is live
    await runner.drain(timeout=5)
    await runner.stop()
    assert done == ["a"]
    await engine.dispose()


async def _ledger_keys(sessions: Any, source: str) -> list[str]:
    async with sessions() as session:
        rows = await session.scalars(
            select(ledger.ProcessedEvent.key).where(ledger.ProcessedEvent.source == source)
        )
        return sorted(rows)


async def _wait_for(check: Any, timeout: float = 10.0) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while not await check():
        assert asyncio.get_running_loop().time() < deadline, "timed out"
        await asyncio.sleep(0.02)


async def test_writers_commit_with_their_task_and_a_failing_one_fails_only_itself(
    db_url: str,
) -> None:
    engine, sessions = await _sessions(db_url)

    async def write(session: Any, payloads: list[dict[str, Any]]) -> None:
        for payload in payloads:
            await ledger.claim(session, "effect", payload["k"])
            if payload["k"] == "bad":
                raise ValueError("cannot write this one")

    runner = _runner(sessions, "r1")
    runner.register("write", writer=write)
    async with transaction(sessions) as session:
        await tasks.enqueue_many(session, "write", [{"k": k} for k in ("a", "b", "bad", "c")])
    runner.start()

    async def settled() -> bool:
        async with sessions() as session:
            rows = (await session.scalars(select(tasks.Task).order_by(tasks.Task.id))).all()
        return [row.status for row in rows] == ["done", "done", "pending", "done"] and (
            rows[2].attempts == 1
        )

    await _wait_for(settled)
    await runner.stop()
    # The failing writer's row went with its savepoint; the others' rows stayed.
    assert await _ledger_keys(sessions, "effect") == ["a", "b", "c"]
    async with sessions() as session:
        bad = (await session.scalars(select(tasks.Task).where(tasks.Task.attempts == 1))).one()
    assert bad.payload == {"k": "bad"}, "a task sent back keeps its payload for the retry"
    assert "cannot write this one" in (bad.last_error or "")
    await engine.dispose()


async def test_a_task_taken_over_meanwhile_is_not_completed_by_its_old_holder(
    db_url: str,
) -> None:
    engine, sessions = await _sessions(db_url)
    taken_over = asyncio.Event()
    written: list[str] = []

    async def slow(payload: dict[str, Any]) -> None:
        # While the handler runs, its lease lapses and another replica takes the task.
        async with transaction(sessions) as session:
            await session.execute(
                update(tasks.Task).values(
                    lease_owner="other", lease_expires=utcnow() + dt.timedelta(seconds=60)
                )
            )
        taken_over.set()

    async def write(session: Any, payloads: list[dict[str, Any]]) -> None:
        written.extend(payload["k"] for payload in payloads)

    runner = _runner(sessions, "old")
    runner.register("work", slow, writer=write)
    async with transaction(sessions) as session:
        await tasks.enqueue(session, "work", {"k": "x"})
    runner.start()
    await asyncio.wait_for(taken_over.wait(), 5)
    await asyncio.sleep(0.1)
    await runner.stop()
    async with sessions() as session:
        task = (await session.scalars(select(tasks.Task))).one()
    assert written == [], "the writer ran for a task this replica no longer held"
    assert (task.status, task.lease_owner, task.payload) == ("pending", "other", {"k": "x"})
    lost = runner.metrics.tasks.labels("work", "lost")._value.get()
    assert lost == 1
    await engine.dispose()


async def test_a_writer_gets_the_tasks_completing_together_in_one_call(db_url: str) -> None:
    engine, sessions = await _sessions(db_url)
    calls: list[list[str]] = []

    async def write(session: Any, payloads: list[dict[str, Any]]) -> None:
        calls.append([payload["k"] for payload in payloads])
        for payload in payloads:
            await ledger.claim(session, "effect", payload["k"])

    runner = _runner(sessions, "r1")
    runner.register("write", writer=write)
    keys = [f"k{n}" for n in range(6)]
    async with transaction(sessions) as session:
        await tasks.enqueue_many(session, "write", [{"k": k} for k in keys])
    runner.start()

    async def settled() -> bool:
        return await _ledger_keys(sessions, "effect") == keys

    await _wait_for(settled)
    await runner.stop()
    # Claimed in one statement and completed in one transaction: one call for all six.
    assert calls == [keys]
    await engine.dispose()
