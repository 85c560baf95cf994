"""Deliveries arriving together are stored in one transaction, and one bad run fails alone."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import event, func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.ci import service, workflows
from bot.ci.models import CiRun
from bot.ci.service.events import GREEN, RED
from bot.ci.workflows import FAILED, REDELIVERED, Delivery, store_deliveries
from bot.core.ledger import ProcessedEvent
from tests.ci.conftest import ROUTE, run_event

Sessions = async_sessionmaker[AsyncSession]


def delivery(key: str, outcome: str, run_id: int, minute: int) -> Delivery:
    return Delivery("github", key, run_event(outcome, f"{run_id:040x}", run_id, minute), ROUTE)


def commits_of(sessions: Sessions) -> list[int]:
    engine = sessions.kw["bind"].sync_engine
    count = [0]
    event.listen(engine, "commit", lambda _conn: count.__setitem__(0, count[0] + 1))
    return count


async def stored(sessions: Sessions, model: Any) -> int:
    async with sessions() as session:
        return int(await session.scalar(select(func.count()).select_from(model)) or 0)


async def test_a_batch_is_claimed_and_recorded_in_one_commit(sessions: Sessions) -> None:
    commits = commits_of(sessions)
    batch = [
        delivery("d1", GREEN, 1, 0),
        delivery("d2", RED, 2, 10),
        delivery("d2", RED, 2, 10),  # the same delivery twice in one batch
        delivery("d3", RED, 3, 20),
    ]
    results = await store_deliveries(sessions, batch)
    assert [r.effect for r in results] == ["green", "opened", "redelivered", "attached"]
    assert results[2] == REDELIVERED
    assert commits[0] == 1
    assert await stored(sessions, CiRun) == 3
    again = await store_deliveries(sessions, [delivery("d3", RED, 3, 20)])
    assert again == [REDELIVERED] and await stored(sessions, CiRun) == 3


async def test_a_run_that_fails_gives_its_claim_back_and_not_the_others(
    sessions: Sessions, monkeypatch: pytest.MonkeyPatch
) -> None:
    real = service.record_run

    async def fails_for_run_2(session: AsyncSession, event: Any, route: Any, **kw: Any) -> Any:
        if event.external_id == "2":
            await real(session, event, route, **kw)  # its writes are made, then undone
            raise RuntimeError("the store refused it")
        return await real(session, event, route, **kw)

    monkeypatch.setattr(workflows, "record_run", fails_for_run_2)
    batch = [delivery("d1", GREEN, 1, 0), delivery("d2", RED, 2, 10), delivery("d3", RED, 3, 20)]
    results = await store_deliveries(sessions, batch)
    assert results[1] == FAILED
    assert [results[0].effect, results[2].effect] == ["green", "opened"]
    async with sessions() as session:
        runs = set(await session.scalars(select(CiRun.external_id)))
        claims = set(await session.scalars(select(ProcessedEvent.key)))
    assert runs == {"1", "3"} and claims == {"d1", "d3"}

    monkeypatch.setattr(workflows, "record_run", real)
    [retried] = await store_deliveries(sessions, [delivery("d2", RED, 2, 10)])
    assert retried.effect == "attached" and await stored(sessions, CiRun) == 3
