"""A workspace that uninstalls: its work stops at once, its records wait out retention."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

import bot.models  # noqa: F401  (every feature's tables)
from bot.core import tasks
from bot.core.db import transaction
from bot.core.departures import (
    INCLUDE_DEPARTED,
    UNINSTALLED,
    Departures,
    WorkspaceDeparture,
    forget_departed,
)
from bot.core.projector import Projection, mark_dirty
from bot.core.tasks import Task
from bot.core.workspaces import Workspace, scoped_models, within
from bot.incidents.models import Incident

A = Workspace("T0AAAAAAA")
B = Workspace("T0BBBBBBB")


async def _seed(sessions: async_sessionmaker[AsyncSession]) -> None:
    now = dt.datetime.now(dt.UTC)
    async with transaction(sessions) as session:
        for workspace in (A, B):
            with within(workspace):
                session.add(
                    Incident(
                        number=1,
                        title="db",
                        severity="sev1",
                        status="investigating",
                        reporter_id="U1",
                        channel_id="C1",
                        declared_at=now,
                    )  # fmt: skip
                )
                await session.flush()
                await tasks.enqueue(session, "incident.remind", {})
                await mark_dirty(session, "incident", f"{workspace.team_id}-card")


async def _by_team(session: AsyncSession, column: object, *where: object) -> dict[str, object]:
    model = column.class_  # type: ignore[attr-defined]
    rows = await session.execute(select(model.team_id, column).where(*where))
    return dict(rows.all())


async def test_an_uninstall_stops_that_workspaces_views_tasks_and_sweeps_only(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    await _seed(sessions)
    departures = Departures(sessions)
    await departures.depart(A)
    async with sessions() as session:
        status = await _by_team(session, Projection.status)
        # The sweeps (outside any workspace) no longer see A's rows ...
        assert status == {B.team_id: "active"}
        assert await _by_team(session, Task.status) == {B.team_id: "pending"}
        assert await session.scalar(select(func.count(Incident.id))) == 1
        # ... which are kept, stopped, until retention ends.
        kept = await session.execute(
            select(Projection.team_id, Projection.status, Projection.last_error),
            execution_options={INCLUDE_DEPARTED: True},
        )
        assert sorted(kept.all()) == [
            (A.team_id, "stopped", UNINSTALLED),
            (B.team_id, "active", None),
        ]
        dead = await session.execute(
            select(Task.team_id, Task.status).order_by(Task.team_id),
            execution_options={INCLUDE_DEPARTED: True},
        )
        assert dead.all() == [(A.team_id, "dead"), (B.team_id, "pending")]


async def test_a_reinstall_within_retention_finds_its_records(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    await _seed(sessions)
    departures = Departures(sessions)
    await departures.depart(A)
    await departures.returned(A)
    async with sessions() as session:
        assert await session.scalar(select(func.count(Incident.id))) == 2
        assert await session.scalar(select(func.count(WorkspaceDeparture.team_id))) == 0


async def test_retention_deletes_every_record_of_a_workspace_gone_long_enough(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    await _seed(sessions)
    departures = Departures(sessions)
    await departures.depart(A)
    now = dt.datetime.now(dt.UTC)
    assert await forget_departed(sessions, now - dt.timedelta(days=30)) == 0  # within it
    deleted = await forget_departed(sessions, now + dt.timedelta(seconds=1))
    assert deleted == 3  # the incident, the task, the view
    await departures.refresh()
    async with sessions() as session:
        for model in scoped_models():
            teams = set((await session.scalars(select(model.team_id))).all())
            assert A.team_id not in teams, model.__tablename__
        assert await session.scalar(select(func.count(Incident.id))) == 1
        assert await session.scalar(select(func.count(WorkspaceDeparture.team_id))) == 0
