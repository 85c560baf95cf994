"""Incident numbers: counted within each workspace, as people see and type them.

The primary key counts every workspace's incidents, so showing it would tell one workspace how
many the others declared. A new incident takes the next number of its workspace instead.

Two declarations racing in one workspace must both succeed with different numbers. Each first
takes its workspace's counter row with one upsert: PostgreSQL locks that row until the
transaction ends, and SQLite's write lock (taken by any write) serialises writers anyway, so
the declarations of a workspace take turns from there. The number is then one above both the
counter and the highest number the workspace can see, read after the turn is taken: a number
is never given twice, even if an incident is deleted, and rows not yet given a workspace
(`UNKNOWN`, which every workspace reads) never share a number with the workspace's own.
"""

from __future__ import annotations

from sqlalchemy import ColumnElement, func, select, true, update
from sqlalchemy.ext.asyncio import AsyncSession

from bot.core import workspaces
from bot.core.db import insert_ignore, table_of
from bot.incidents.models import Incident, IncidentCounter


def _seen_together() -> ColumnElement[bool]:
    """The incidents a row written now will be read alongside, whose numbers it must not share:
    the workspace's and the unnamed ones within a workspace; every one outside any (such a
    row is `UNKNOWN`'s, which every workspace reads)."""
    workspace = workspaces.current()
    if workspace is None:
        return true()
    return Incident.team_id.in_(workspaces.visible_teams(workspace))


async def _take_turn(session: AsyncSession, team: str) -> int:
    """Lock the workspace's counter (making it if needed) until the transaction ends; its value."""
    counters = table_of(IncidentCounter)
    upsert = insert_ignore(session, counters).values(team_id=team, last_number=0)
    upsert = upsert.on_conflict_do_update(
        index_elements=[counters.c.team_id],
        # Writing the row, even with its own value, is what takes the lock.
        set_={"last_number": counters.c.last_number},
    ).returning(counters.c.last_number)
    return int((await session.execute(upsert)).scalar_one())


async def next_number(session: AsyncSession) -> int:
    """Give the next incident number of the current workspace, in the caller's transaction.

    The caller's incident must be written in the same transaction: the turn it took lasts
    until then, so no other declaration of the workspace can read the same highest number.
    """
    team = workspaces.current_team()
    counted = await _take_turn(session, team)
    highest = await session.scalar(select(func.max(Incident.number)).where(_seen_together()))
    number = max(counted, highest or 0) + 1
    await session.execute(
        update(IncidentCounter).where(IncidentCounter.team_id == team).values(last_number=number)
    )
    return number
