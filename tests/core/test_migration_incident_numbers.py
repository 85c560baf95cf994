"""Upgrading a database from before incident numbers were counted per workspace (revision 0012),
on SQLite and PostgreSQL: every incident keeps the number people know, and each workspace
numbers on from its own highest."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import text

from bot.core.db import make_engine, make_sessionmaker, transaction
from bot.core.workspaces import Workspace, within
from bot.incidents import service
from bot.incidents.service.state import Options
from bot.migrate import downgrade, upgrade

NOW = dt.datetime(2026, 12, 1, 12, 0, tzinfo=dt.UTC)
OPTIONS = Options(severities=("sev1",), statuses=("investigating", "resolved"), roles=("lead",))
# (id, team): one sequence for the deployment, as revision 0012 numbered them.
BEFORE = [(1, "T0HOME"), (2, "T0BETA"), (3, "T0HOME"), (4, "T0BETA"), (5, "T0BETA")]


async def _seed(url: str) -> None:
    engine = make_engine(url)
    async with engine.begin() as connection:
        for key, team in BEFORE:
            await connection.execute(
                # The database gives the ids, in this order: an id given here would leave
                # PostgreSQL's sequence behind.
                text(
                    "INSERT INTO incidents (title, description, severity, status, private, "
                    "reporter_id, channel_id, declared_at, summary, team_id) VALUES ("
                    "'DB down', '', 'sev1', 'investigating', false, 'U0ALICE', :channel, :now, "
                    "'', :team)"
                ),
                {"channel": f"C0INC{key}", "now": NOW, "team": team},
            )
    await engine.dispose()


async def _rows(url: str) -> list[tuple[int, int, str]]:
    engine = make_engine(url)
    async with engine.connect() as connection:
        rows = await connection.execute(
            text("SELECT id, number, team_id FROM incidents ORDER BY id")
        )
        found = [(int(key), int(number), str(team)) for key, number, team in rows]
    await engine.dispose()
    return found


async def test_upgraded_incidents_keep_their_numbers_and_each_workspace_counts_on(
    empty_db_url: str,
) -> None:
    upgrade(empty_db_url, "0012")
    await _seed(empty_db_url)
    upgrade(empty_db_url, "0013")
    assert await _rows(empty_db_url) == [(key, key, team) for key, team in BEFORE]

    upgrade(empty_db_url)  # the code below is today's: it needs the later revisions too
    engine = make_engine(empty_db_url)
    sessions = make_sessionmaker(engine)
    try:
        for team in ("T0HOME", "T0BETA", "T0NEW"):
            with within(Workspace(team)):
                async with transaction(sessions) as session:
                    await service.declare(session, OPTIONS, title="After", reporter="U0ALICE")
    finally:
        await engine.dispose()
    added = {team: number for _key, number, team in (await _rows(empty_db_url))[len(BEFORE) :]}
    # Above the workspace's own highest, wherever the other's are; a new one starts at 1.
    assert added == {"T0HOME": 4, "T0BETA": 6, "T0NEW": 1}


async def test_downgrade_drops_the_numbers_and_upgrade_gives_them_back(empty_db_url: str) -> None:
    upgrade(empty_db_url, "0012")
    await _seed(empty_db_url)
    upgrade(empty_db_url, "0013")
    downgrade(empty_db_url, "0012")
    upgrade(empty_db_url, "0013")
    assert await _rows(empty_db_url) == [(key, key, team) for key, team in BEFORE]
