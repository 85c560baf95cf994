"""Upgrading a database from before workspaces (revision 0010): every row is kept and given its
workspace, on SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select, text

from bot.core.db import make_engine, make_sessionmaker
from bot.core.workspaces import Workspace, adopt, within
from bot.incidents.models import Incident
from bot.migrate import upgrade

NOW = dt.datetime(2026, 11, 30, 12, 0, tzinfo=dt.UTC)


async def _seed_single_workspace_data(url: str, installed_team: str | None) -> None:
    """Rows as a one-workspace deployment wrote them at revision 0010."""
    engine = make_engine(url)
    async with engine.begin() as connection:
        await connection.execute(
            text(
                "INSERT INTO incidents (id, title, description, severity, status, private, "
                "reporter_id, channel_id, declared_at, summary) VALUES (7, 'DB down', '', "
                "'sev1', 'investigating', false, 'U0ALICE', 'C0INC7', :now, '')"
            ),
            {"now": NOW},
        )
        await connection.execute(
            text(
                "INSERT INTO ci_pipelines (id, provider, repo, branch, workflow, state, "
                "state_since, created_at) VALUES (1, 'github', 'octo/app', 'main', 'test', "
                "'red', :now, :now)"
            ),
            {"now": NOW},
        )
        await connection.execute(
            text(
                "INSERT INTO ci_runs (id, pipeline_id, provider, external_id, attempt, sha, "
                "conclusion, outcome, created_at, completed_at, received_at, stale, flaky, quiet)"
                " VALUES (5, 1, 'github', '99', 1, 'abc', 'failure', 'red', :now, :now, :now, "
                "false, false, false)"
            ),
            {"now": NOW},
        )
        await connection.execute(
            text(
                "INSERT INTO ci_breakages (id, pipeline_id, status, channel, opened_at, "
                "first_red_run_id, muted, suspects_ready, owners) VALUES (3, 1, 'open', 'C0CI', "
                ":now, 5, false, false, '[]')"
            ),
            {"now": NOW},
        )
        if installed_team:
            await connection.execute(
                text(
                    "INSERT INTO slack_bots (client_id, app_id, team_id, bot_token, "
                    "is_enterprise_install, installed_at) VALUES ('1.2', 'A1', :team, "
                    "'xoxb-1', false, :now)"
                ),
                {"team": installed_team, "now": NOW.replace(tzinfo=None)},
            )
    await engine.dispose()


async def _scalar(url: str, sql: str) -> object:
    engine = make_engine(url)
    async with engine.connect() as connection:
        value = (await connection.execute(text(sql))).first()
    await engine.dispose()
    return tuple(value) if value is not None else None


async def test_the_only_installation_gets_the_existing_rows(empty_db_url: str) -> None:
    upgrade(empty_db_url, "0010")
    await _seed_single_workspace_data(empty_db_url, installed_team="T0LEGACY")
    upgrade(empty_db_url)
    assert await _scalar(empty_db_url, "SELECT id, number, title, team_id FROM incidents") == (
        7,
        7,  # the number people knew it by
        "DB down",
        "T0LEGACY",
    )
    # The breakage was posted in its channel: its card keeps its id, in no named workspace.
    assert await _scalar(
        empty_db_url, "SELECT breakage_id, team_id, channel FROM ci_breakage_posts"
    ) == (3, "", "C0CI")
    assert await _scalar(empty_db_url, "SELECT team_id FROM known_workspaces") == ("T0LEGACY",)


async def test_single_token_rows_wait_for_the_team_auth_test_names(empty_db_url: str) -> None:
    upgrade(empty_db_url, "0010")
    await _seed_single_workspace_data(empty_db_url, installed_team=None)
    upgrade(empty_db_url)
    assert await _scalar(empty_db_url, "SELECT team_id FROM incidents") == ("",)
    engine = make_engine(empty_db_url)
    sessions = make_sessionmaker(engine)
    async with sessions() as session:
        with within(Workspace("T0SOLE")):  # seen by the one workspace before it is named
            assert [i.title for i in await session.scalars(select(Incident))] == ["DB down"]
    assert await adopt(sessions, Workspace("T0SOLE")) >= 1
    assert await adopt(sessions, Workspace("T0SOLE")) == 0  # nothing left to give
    await engine.dispose()
    assert await _scalar(empty_db_url, "SELECT team_id FROM incidents") == ("T0SOLE",)
