"""Every record belongs to a workspace: written with it, read only within it (bot.core.workspaces).

The checks over `scoped_models()` and over every mapped table cover tables added later without
anyone listing them here.
"""

from __future__ import annotations

import asyncio
import datetime as dt
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import delete, event, func, insert, select, update
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

import bot.models  # noqa: F401  (every feature's tables)
from bot.core import tasks, workspaces
from bot.core.batching import Batcher
from bot.core.db import Base, table_of, transaction
from bot.core.metrics import Metrics
from bot.core.ratelimits import Pacer
from bot.core.workspaces import InWorkspace, Workspace, of_body, scoped_models, within
from bot.incidents.models import Incident
from bot.standups.models import Standup

A = Workspace("T0AAAAAAA")
B = Workspace("T0BBBBBBB", "E0ORG")

# Tables whose rows are not a workspace's, and why. A new table holding Slack ids must either
# mix in InWorkspace or be named here with its reason.
OUTSIDE_WORKSPACES = {
    "home_tabs": "one row per person: a Grid user id is the same person in every workspace",
    "standup_user_timezones": "a person's time zone, the same in every workspace of an org",
    "ci_breakages": "the org's CI: one breakage, posted in every routed workspace",
    "ci_pipelines": "the org's CI",
    "ci_runs": "the org's CI",
    "ci_suspects": "the org's CI",
    "ci_mutes": "the org's CI",
    "ci_breakage_posts": "where the org's breakage is shown: it names the workspace itself",
    "slack_installations": "slack_sdk's installation store, keyed by team itself",
    "slack_bots": "slack_sdk's installation store, keyed by team itself",
    "slack_oauth_states": "an install under way has no workspace yet",
    "processed_events": "delivery ids, unique across Slack",
    "job_firings": "the process's schedule",
    "slack_rate_budget": "its scope names the workspace",
    "workspace_channels": "which workspaces a channel is in: it names the workspace itself",
    "codered_spans": "the other workspaces of a code red: it names the workspace itself",
}
SLACK_ID_COLUMNS = {"channel", "channel_id", "user_id", "owner_id", "requester", "ts"}


def test_every_table_holding_slack_ids_belongs_to_a_workspace_or_says_why_not() -> None:
    scoped = {model.__tablename__ for model in scoped_models()}
    for table in Base.metadata.sorted_tables:
        if table.name in scoped:
            assert {"team_id", "enterprise_id"} <= set(table.c.keys()), table.name
            continue
        holds_slack_ids = bool(SLACK_ID_COLUMNS & set(table.c.keys()))
        assert not holds_slack_ids or table.name in OUTSIDE_WORKSPACES, (
            f"{table.name} holds Slack ids: mix in InWorkspace, or say in OUTSIDE_WORKSPACES why"
            " its rows are nobody's workspace's"
        )


def test_unique_keys_of_slack_ids_include_the_team() -> None:
    for model in scoped_models():
        for constraint in model.__table__.constraints:
            columns = {column.name for column in getattr(constraint, "columns", ())}
            if constraint.__class__.__name__ == "UniqueConstraint" and columns & SLACK_ID_COLUMNS:
                assert (
                    "team_id" in columns
                    or "incident_id" in columns
                    or any(
                        name.endswith("_id") and name not in SLACK_ID_COLUMNS for name in columns
                    )
                ), f"{model.__tablename__}: {sorted(columns)} must include team_id"


async def test_every_scoped_models_query_within_a_workspace_is_filtered_by_its_team(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    """Whatever the model, a SELECT, UPDATE or DELETE run within a workspace names its team."""
    statements: list[str] = []
    engine: AsyncEngine = sessions.kw["bind"]

    def seen(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        statements.append(statement)

    event.listen(engine.sync_engine, "before_cursor_execute", seen)
    try:
        async with sessions() as session, session.begin():
            with within(A):
                for model in scoped_models():
                    for statement in (
                        select(model),
                        update(model).values(team_id=model.team_id),
                        delete(model),
                    ):
                        statements.clear()
                        await session.execute(statement)
                        assert "team_id IN" in statements[-1], (model, statements[-1])
    finally:
        event.remove(engine.sync_engine, "before_cursor_execute", seen)


def _incident(title: str, channel: str) -> Incident:
    now = dt.datetime.now(dt.UTC)
    return Incident(
        number=1, title=title, severity="sev2", status="investigating", reporter_id="U1",
        channel_id=channel, declared_at=now, last_update_at=now,
    )  # fmt: skip


async def test_rows_are_written_with_the_workspace_and_read_only_within_it(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    async with transaction(sessions) as session:
        with within(A):
            session.add(_incident("db down", "C1"))
            await session.flush()
        with within(B):
            session.add(_incident("queue stuck", "C1"))  # same channel id: a shared channel
            await session.flush()
    async with sessions() as session:
        with within(A):
            (mine,) = (await session.scalars(select(Incident))).all()
            assert (mine.title, mine.team_id, mine.enterprise_id) == ("db down", A.team_id, None)
            theirs = await session.scalar(select(Incident.id).where(Incident.title != "db down"))
            assert theirs is None
            assert await session.scalar(select(func.count(Incident.id))) == 1
        with within(B):
            (mine,) = (await session.scalars(select(Incident))).all()
            assert (mine.team_id, mine.enterprise_id) == (B.team_id, "E0ORG")
            assert await session.get(Incident, mine.id - 1) is None  # A's, by its key
        assert await session.scalar(select(func.count(Incident.id))) == 2  # outside: a sweep


async def test_updates_and_deletes_within_a_workspace_leave_the_others_rows(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    async with transaction(sessions) as session:
        for workspace in (A, B):
            with within(workspace):
                session.add(_incident("x", "C9"))
                await session.flush()
    async with transaction(sessions) as session, asyncio.timeout(10):
        with within(A):
            await session.execute(update(Incident).values(title="renamed"))
            await session.execute(delete(Incident).where(Incident.title == "nothing"))
    async with sessions() as session:
        titles = dict((await session.execute(select(Incident.team_id, Incident.title))).all())
        assert titles == {A.team_id: "renamed", B.team_id: "x"}


async def test_core_inserts_take_the_workspace_too(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    now = dt.datetime.now(dt.UTC)
    row = {"name": "Daily", "channel": "C1", "questions": [], "days": "0", "minute_of_day": 540,
           "reminder_minutes": 60, "cutoff_minutes": 120, "created_by": "U1",
           "created_at": now}  # fmt: skip
    async with transaction(sessions) as session:
        for workspace in (A, B):
            with within(workspace):
                await session.execute(
                    insert(table_of(Standup)), [{**row, "name_key": "daily"}]
                )  # the same name in two workspaces: each has its own
    async with sessions() as session:
        teams = (await session.scalars(select(Standup.team_id).order_by(Standup.team_id))).all()
        assert teams == [A.team_id, B.team_id]


async def test_a_task_runs_within_the_workspace_it_was_made_in(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    ran: list[Workspace | None] = []

    async def handler(payload: dict[str, Any]) -> None:
        ran.append(workspaces.current())

    runner = tasks.TaskRunner(sessions, "replica-1", Metrics(), sweep_seconds=0.05)
    runner.register("probe", handler)
    async with transaction(sessions) as session:
        with within(A):
            await tasks.enqueue(session, "probe", {})
        with within(B):
            await tasks.enqueue(session, "probe", {})
        await tasks.enqueue(session, "probe", {})  # a sweep's: outside any workspace
    runner.start()
    try:
        await runner.drain(10)
    finally:
        await runner.stop()
    assert sorted(ran, key=str) == sorted([A, B, None], key=str)


async def test_a_batch_does_not_run_within_its_first_submitters_workspace() -> None:
    seen: list[Workspace | None] = []

    async def run(items: list[int]) -> list[int]:
        seen.append(workspaces.current())
        return items

    batcher: Batcher[int, int] = Batcher(run, window=0.01)
    with within(A):
        first = asyncio.ensure_future(batcher.submit(1))
    with within(B):
        second = asyncio.ensure_future(batcher.submit(2))
    assert await asyncio.gather(first, second) == [1, 2]
    assert seen == [None]


def test_each_workspace_has_its_own_rate_budgets() -> None:
    pacer = Pacer(per_workspace=True)
    with within(A):
        (a_update,) = pacer.rules("chat.update", None)
        (a_post,) = pacer.rules("chat.postMessage", "C1")
    with within(B):
        (b_update,) = pacer.rules("chat.update", None)
    assert a_update.scope == A.team_id and b_update.scope == B.team_id
    assert a_post.scope == "C1"  # a channel's own limit: channel ids are unique in Slack
    with within(A):  # single-token mode: one workspace, whatever the work is within
        assert Pacer().rules("chat.update", None)[0].scope == ""


async def test_a_pause_for_one_workspace_does_not_hold_another() -> None:
    pacer = Pacer(per_workspace=True)
    with within(A):
        pacer.pause("chat.update", None, retry_after=30)
    with within(B):
        await asyncio.wait_for(pacer.acquire("chat.update"), 1)  # not held by A's 429
    with within(A), pytest.raises(TimeoutError):
        await asyncio.wait_for(pacer.acquire("chat.update"), 0.2)


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ({"type": "event_callback", "team_id": "T1", "event": {}}, Workspace("T1")),
        (
            {"team_id": "T2", "authorizations": [{"team_id": None, "enterprise_id": "E1"}]},
            Workspace("T2", "E1"),
        ),
        ({"command": "/incident", "team_id": "T3", "enterprise_id": "E3"}, Workspace("T3", "E3")),
        ({"type": "block_actions", "team": {"id": "T4"}, "enterprise": None}, Workspace("T4")),
        ({"type": "view_submission", "user": {"id": "U1", "team_id": "T5"}}, Workspace("T5")),
        (  # bolt-python's Slack Connect view_submission (tests/scenario_tests)
            {
                "type": "view_submission",
                "team": {"id": "T-other-side", "enterprise_id": "E-other-side"},
                "user": {"id": "W111", "team_id": "T-other-side"},
                "view": {"team_id": "T-other-side", "app_installed_team_id": "T-installed"},
                "enterprise": {"id": "E-other-side", "name": "Kaz Sandbox Org"},
            },
            Workspace("T-installed"),
        ),
        (
            {
                "type": "block_actions",
                "team": {"id": "T6"},
                "enterprise": {"id": "E6"},
                "view": {"team_id": "T6", "app_installed_team_id": "T6"},
            },
            Workspace("T6", "E6"),
        ),
        (  # a modal of an org-wide install: Slack names the org as where the app is installed
            {
                "type": "view_submission",
                "team": {"id": "T7"},
                "enterprise": {"id": "E7"},
                "is_enterprise_install": True,
                "view": {"team_id": "T7", "app_installed_team_id": "E7"},
            },
            Workspace("T7", "E7"),
        ),
        ({"type": "url_verification"}, None),
    ],
)
def test_the_workspace_of_each_kind_of_delivery(
    body: dict[str, Any], expected: Workspace | None
) -> None:
    assert of_body(body) == expected


def test_scoped_models_are_the_mixins_users() -> None:
    assert Incident in scoped_models() and tasks.Task in scoped_models()
    assert all(issubclass(model, InWorkspace) for model in scoped_models())


def test_reading_across_workspaces_is_done_in_named_places_only() -> None:
    """ALL_WORKSPACES lifts the filter: each use is a deliberate org-level read, listed here."""
    allowed = {
        Path("bot/core/workspaces.py"),
        Path("bot/codered/service/cards.py"),  # a spanned announcement finds its code red
        Path("bot/core/projector.py"),  # a button on a card is handled in the card's workspace
    }
    root = Path(__file__).resolve().parents[2]
    users = {
        path.relative_to(root)
        for path in (root / "bot").rglob("*.py")
        if "ALL_WORKSPACES" in path.read_text()
    }
    assert users <= allowed, sorted(map(str, users - allowed))
