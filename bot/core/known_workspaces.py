"""The workspaces this deployment serves, for the scheduled jobs that run once in each.

A workspace is known from its first request (the web route notes it) or its install. In
OAuth mode a job declared `per_workspace` (every feature job unless it is the org's) runs
within each known workspace that has not uninstalled the app, so its reads see that
workspace's records, its writes belong to it and its Slack calls carry its token. In
single-token mode there is one workspace, and such a job runs once, as it always has.
"""

from __future__ import annotations

import datetime as dt
import logging

from sqlalchemy import String, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlalchemy.orm import Mapped, mapped_column

from bot.core.db import Base, UTCDateTime, insert_ignore, transaction, utcnow
from bot.core.departures import Departures
from bot.core.workspaces import Workspace, WorkspaceChannel

log = logging.getLogger(__name__)


class KnownWorkspace(Base):
    __tablename__ = "known_workspaces"

    team_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    enterprise_id: Mapped[str | None] = mapped_column(String(32))
    first_seen: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)


class KnownWorkspaces:
    def __init__(
        self, sessions: async_sessionmaker[AsyncSession], departures: Departures, *, oauth: bool
    ) -> None:
        self.sessions = sessions
        self.departures = departures
        self.oauth = oauth
        self._noted: set[Workspace] = set()
        self._channels: set[tuple[str, str]] = set()

    async def note(self, workspace: Workspace | None, channel: str | None = None) -> None:
        """Remember a workspace a request came from, and the channel it came from in it (one
        statement each, the first time only; in single-token mode there is one workspace, and
        nothing to remember). A channel seen in two workspaces is shared between them, and
        the records that live in it are visible in both (`workspaces.VisibleWhereItsChannelIs`)."""
        if not self.oauth or workspace is None or not workspace.team_id:
            return
        await self._note_workspace(workspace)
        if channel and channel[0] in "CG" and (workspace.team_id, channel) not in self._channels:
            async with transaction(self.sessions) as session:
                await session.execute(
                    insert_ignore(session, WorkspaceChannel)
                    .values(team_id=workspace.team_id, channel_id=channel)
                    .on_conflict_do_nothing(index_elements=["team_id", "channel_id"])
                )
            self._channels.add((workspace.team_id, channel))

    async def _note_workspace(self, workspace: Workspace) -> None:
        if workspace in self._noted:
            return
        async with transaction(self.sessions) as session:
            await session.execute(
                insert_ignore(session, KnownWorkspace)
                .values(
                    team_id=workspace.team_id,
                    enterprise_id=workspace.enterprise_id,
                    first_seen=utcnow(),
                )
                .on_conflict_do_nothing(index_elements=["team_id"])
            )
        self._noted.add(workspace)

    async def for_jobs(self) -> list[Workspace | None]:
        """Where a per-workspace job runs: within each served workspace (OAuth mode), or once
        outside any (single-token mode: the one workspace)."""
        if not self.oauth:
            return [None]
        async with self.sessions() as session:
            rows = (await session.execute(select(KnownWorkspace))).scalars().all()
        gone_teams, gone_orgs = set(self.departures.teams), set(self.departures.orgs)
        return [
            Workspace(row.team_id, row.enterprise_id)
            for row in sorted(rows, key=lambda row: row.team_id)
            if row.team_id not in gone_teams and row.enterprise_id not in gone_orgs
        ]
