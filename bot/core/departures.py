"""Workspaces that uninstalled the app: their work stops, their records wait out retention.

When a workspace's bot token goes (`app_uninstalled`, or `tokens_revoked` naming the bot), in
one transaction, before Slack is answered:

- a `workspace_departures` row records when;
- its views stop syncing (status `stopped`) and its pending tasks end (`dead`, with the reason),
  so no replica calls Slack for it again;
- work outside any workspace (scheduled sweeps: standup prompts, reminders, digests) no longer
  sees its rows: every ORM statement of a session of `sessions` leaves out departed
  workspaces (`Departures`, refreshed by each process every `REFRESH_SECONDS`).

Its records are kept for `retention.uninstalled_days` (a reinstall within that time finds them
again, and starts its work anew), then deleted by the retention job, every table at once.
A reinstall removes the departure row.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import functools
import logging
from typing import Any, cast

from sqlalchemy import ColumnElement, String, delete, event, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlalchemy.orm import Mapped, ORMExecuteState, Session, mapped_column, with_loader_criteria

from bot.core.db import Base, UTCDateTime, affected, transaction, utcnow
from bot.core.workspaces import InWorkspace, Workspace, current, scoped_models, within

log = logging.getLogger(__name__)

DEPARTURES_INFO = "opsbot_departures"
REFRESH_SECONDS = 30.0
# An execution option: this statement also sees departed workspaces (the retention job).
INCLUDE_DEPARTED = "opsbot_include_departed"
UNINSTALLED = "the workspace uninstalled the app"


class WorkspaceDeparture(Base):
    __tablename__ = "workspace_departures"

    # The team; "" for an org-wide install, named by its enterprise.
    team_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    enterprise_id: Mapped[str] = mapped_column(String(32), primary_key=True, default="")
    left_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)


class Departures:
    """The departed workspaces as this process knows them, found by its sessions."""

    def __init__(self, sessions: async_sessionmaker[AsyncSession]) -> None:
        self.sessions = sessions
        self.teams: tuple[str, ...] = ()
        self.orgs: tuple[str, ...] = ()  # org-wide installs removed
        info = dict(sessions.kw.get("info") or {})
        info[DEPARTURES_INFO] = self
        sessions.kw["info"] = info

    async def refresh(self) -> None:
        async with self.sessions() as session:
            rows = (await session.execute(select(WorkspaceDeparture))).scalars().all()
        self.teams = tuple(row.team_id for row in rows if row.team_id)
        self.orgs = tuple(row.enterprise_id for row in rows if not row.team_id)

    async def keep_fresh(self) -> None:
        """Re-read the departures every REFRESH_SECONDS (another replica may record one)."""
        while True:
            try:
                await self.refresh()
            except Exception as error:  # the database is away: keep what we knew
                log.warning("departed workspaces not re-read: %r", error)
            await asyncio.sleep(REFRESH_SECONDS)

    async def depart(self, workspace: Workspace) -> None:
        """`workspace` (a team, or an org with team "") uninstalled: stop its work."""
        async with transaction(self.sessions) as session:
            with within(None):
                await session.merge(
                    WorkspaceDeparture(
                        team_id=workspace.team_id, enterprise_id=workspace.enterprise_id or ""
                    )
                )
                await _stop_work(session, workspace)
        await self.refresh()
        log.info("workspace %s departed: its views and tasks are stopped", workspace)

    async def returned(self, workspace: Workspace) -> None:
        """`workspace` installed the app again: its records are its own again."""
        async with transaction(self.sessions) as session:
            await session.execute(
                delete(WorkspaceDeparture).where(
                    or_(
                        WorkspaceDeparture.team_id == workspace.team_id,
                        (WorkspaceDeparture.team_id == "")
                        & (WorkspaceDeparture.enterprise_id == (workspace.enterprise_id or "")),
                    )
                )
            )
        await self.refresh()


def _of_departed(columns: Any, workspace: Workspace) -> ColumnElement[bool]:
    """The rows of a departed workspace (or, for an org-wide install, of its org), given a
    model or a table's columns."""
    if workspace.team_id:
        return cast(ColumnElement[bool], columns.team_id == workspace.team_id)
    return cast(ColumnElement[bool], columns.enterprise_id == workspace.enterprise_id)


async def _stop_work(session: AsyncSession, workspace: Workspace) -> None:
    from bot.core.projector import Projection
    from bot.core.tasks import Task

    await session.execute(
        update(Projection)
        .where(_of_departed(Projection, workspace))
        .values(status="stopped", last_error=UNINSTALLED, lease_owner=None, lease_expires=None),
        execution_options={INCLUDE_DEPARTED: True},
    )
    await session.execute(
        update(Task)
        .where(_of_departed(Task, workspace), Task.status == "pending")
        .values(status="dead", last_error=UNINSTALLED, finished_at=utcnow()),
        execution_options={INCLUDE_DEPARTED: True},
    )


async def forget_departed(sessions: async_sessionmaker[AsyncSession], before: dt.datetime) -> int:
    """Delete every record of the workspaces that left before `before` (retention)."""
    async with sessions() as session:
        gone = (
            await session.scalars(
                select(WorkspaceDeparture).where(WorkspaceDeparture.left_at < before)
            )
        ).all()
    deleted = 0
    # Children before parents: a table's rows go before the rows they point at.
    tables = [
        table
        for table in reversed(Base.metadata.sorted_tables)
        if table.name in {model.__tablename__ for model in scoped_models()}
    ]
    for departure in gone:
        workspace = Workspace(departure.team_id, departure.enterprise_id or None)
        async with transaction(sessions) as session:
            for table in tables:
                departed = _of_departed(table.c, workspace)
                result = await session.execute(delete(table).where(departed))
                deleted += affected(result)
            await session.execute(
                delete(WorkspaceDeparture).where(
                    WorkspaceDeparture.team_id == departure.team_id,
                    WorkspaceDeparture.enterprise_id == departure.enterprise_id,
                )
            )
    return deleted


@event.listens_for(Session, "do_orm_execute")
def _leave_out_departed(state: ORMExecuteState) -> None:
    departures: Departures | None = state.session.info.get(DEPARTURES_INFO)
    if departures is None or not (departures.teams or departures.orgs) or current() is not None:
        return
    if state.execution_options.get(INCLUDE_DEPARTED) or not (
        state.is_select or state.is_update or state.is_delete
    ):
        return
    state.statement = state.statement.options(_leaving_out(departures.teams, departures.orgs))


@functools.lru_cache(maxsize=64)
def _leaving_out(teams: tuple[str, ...], orgs: tuple[str, ...]) -> Any:
    """The filter for one set of departures, made once (see `workspaces._only`)."""
    return with_loader_criteria(
        InWorkspace,
        lambda model: (
            model.team_id.not_in(teams)
            & or_(model.enterprise_id.is_(None), model.enterprise_id.not_in(orgs))
        ),
        include_aliases=True,
    )
