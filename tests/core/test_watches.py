"""Watches: a change to a row a view is drawn from marks that view dirty, in the same
transaction, without the writer naming the view."""

from __future__ import annotations

import ast
import asyncio
import contextlib
from pathlib import Path
from typing import Any

import pytest
from slack_sdk.web.async_client import AsyncWebClient
from sqlalchemy import func, insert, select

from bot.core import tasks
from bot.core.db import make_engine, make_sessionmaker, transaction
from bot.core.metrics import Metrics
from bot.core.projector import Projection
from bot.core.projector_worker import Projector
from bot.core.watches import MissingColumn, Watch, changed

ROOT = Path(__file__).resolve().parents[2]


async def _setup(db_url: str) -> Any:
    engine = make_engine(db_url)
    sessions = make_sessionmaker(engine)
    projector = Projector(sessions, AsyncWebClient(token="xoxb-unused"), "test", Metrics())
    # A view per "card" named in a task's payload, and one per task kind counted by SELECT.
    projector.register(
        "card", _load, _view, watches=[Watch(tasks.Task, lambda row: [row.payload.get("card")])]
    )
    projector.register(
        "kind",
        _load,
        _view,
        watches=[
            Watch(tasks.Task, lambda row: select(tasks.Task.kind).where(tasks.Task.id == row.id))
        ],
    )
    return engine, sessions


async def _load(_session: Any, _record_id: str) -> None:
    return None


def _view(_state: Any) -> None:
    return None


async def _views(sessions: Any) -> dict[tuple[str, str], int]:
    async with sessions() as session:
        rows = await session.execute(
            select(Projection.kind, Projection.record_id, Projection.version)
        )
        return {(kind, record): version for kind, record, version in rows}


async def test_adding_changing_and_deleting_a_watched_row_marks_its_views(db_url: str) -> None:
    engine, sessions = await _setup(db_url)
    async with transaction(sessions) as session:
        task = tasks.Task(kind="k1", payload={"card": 7})
        session.add(task)
    assert await _views(sessions) == {("card", "7"): 1, ("kind", "k1"): 1}
    async with transaction(sessions) as session:
        row = await session.get(tasks.Task, task.id)
        assert row is not None
        row.attempts = 3
    assert await _views(sessions) == {("card", "7"): 2, ("kind", "k1"): 2}
    async with transaction(sessions) as session:
        row = await session.get(tasks.Task, task.id)
        assert row is not None
        row.attempts = 3  # the same value: nothing changed, nothing to redraw
    assert await _views(sessions) == {("card", "7"): 2, ("kind", "k1"): 2}
    async with transaction(sessions) as session:
        row = await session.get(tasks.Task, task.id)
        await session.delete(row)
    assert (await _views(sessions))[("card", "7")] == 3
    await engine.dispose()


async def test_a_rolled_back_change_marks_nothing(db_url: str) -> None:
    engine, sessions = await _setup(db_url)
    try:
        async with transaction(sessions) as session:
            session.add(tasks.Task(kind="k1", payload={"card": 1}))
            await session.flush()
            raise RuntimeError("the transaction fails")
    except RuntimeError:
        pass
    assert await _views(sessions) == {}
    await engine.dispose()


async def test_a_core_write_is_covered_by_changed(db_url: str) -> None:
    engine, sessions = await _setup(db_url)
    async with transaction(sessions) as session:
        await session.execute(insert(tasks.Task).values(kind="k2", payload={"card": 9}))
        # A Core statement has no ORM row; without this call no view would be marked.
        await changed(session, tasks.Task, id=None, payload={"card": 9})
    views = await _views(sessions)
    assert views[("card", "9")] == 1
    async with sessions() as session:
        assert await session.scalar(select(func.count()).select_from(Projection)) == 1
    await engine.dispose()


async def test_a_changed_call_missing_a_column_a_watch_reads_names_it(db_url: str) -> None:
    engine, sessions = await _setup(db_url)
    with pytest.raises(MissingColumn, match="a watch on Task reads 'payload'"):
        async with transaction(sessions) as session:
            await session.execute(insert(tasks.Task).values(kind="k2", payload={"card": 9}))
            await changed(session, tasks.Task, id=None)
    assert await _views(sessions) == {}, "the failed write marked nothing"
    await engine.dispose()


def _calls_to(name: str, path: Path) -> list[int]:
    tree = ast.parse(path.read_text())
    return [
        node.lineno
        for node in ast.walk(tree)
        if isinstance(node, ast.Call)
        and (getattr(node.func, "id", None) == name or getattr(node.func, "attr", None) == name)
    ]


def test_no_feature_names_the_views_a_change_redraws() -> None:
    """Services change records; the views that watch them follow. A feature that marks a view
    dirty by hand would be one more list of views to keep in step with every writer."""
    offenders = [
        f"{path.relative_to(ROOT)}:{line}"
        for path in sorted((ROOT / "bot").rglob("*.py"))
        if path.relative_to(ROOT / "bot").parts[0] != "core"
        for line in _calls_to("mark_dirty", path)
    ]
    assert offenders == []


async def test_two_writers_changing_one_cards_rows_in_opposite_orders_both_commit(
    db_url: str,
) -> None:
    """Each changes a row the other changes next, both rows drawn on one card: the card's
    projection row is marked at commit, so neither holds it while waiting for the other."""
    if db_url.startswith("sqlite"):
        pytest.skip("SQLite has one writer at a time: there is no row lock to wait on")
    engine, sessions = await _setup(db_url)
    async with transaction(sessions) as session:
        first = await tasks.enqueue(session, "test.kind", {"card": "K"}, key="first")
        second = await tasks.enqueue(session, "test.kind", {"card": "K"}, key="second")
        assert first and second
    async with sessions() as session:
        ids = {
            key: id_ for key, id_ in await session.execute(select(tasks.Task.key, tasks.Task.id))
        }
    before = (await _views(sessions)).get(("card", "K"), 0)
    a_flushed, b_flushed = asyncio.Event(), asyncio.Event()

    async def bump(session: Any, key: str) -> None:
        row = await session.get(tasks.Task, ids[key])
        row.attempts += 1
        await session.flush()

    async def writer_a() -> None:
        async with transaction(sessions) as session:
            await bump(session, "first")
            a_flushed.set()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(b_flushed.wait(), 3)
            await bump(session, "second")  # waits for B's commit

    async def writer_b() -> None:
        await a_flushed.wait()
        async with transaction(sessions) as session:
            await bump(session, "second")
            b_flushed.set()
            await asyncio.sleep(0.2)  # A is now waiting on "second"

    await asyncio.wait_for(asyncio.gather(writer_a(), writer_b()), 20)
    assert (await _views(sessions))[("card", "K")] == before + 2
    await engine.dispose()
