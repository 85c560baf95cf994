"""Shared fixtures: every database test runs on SQLite and on PostgreSQL."""

from __future__ import annotations

import gc
import os
import uuid
import warnings
from collections.abc import AsyncIterator, Iterator

import asyncpg
import pytest
from sqlalchemy.engine import make_url

from bot.core.db import make_engine
from bot.models import metadata
from bot.sandbox.harness import BotUnderTest, running_bot
from tests.memory import collect_finished_bots
from tests.pg import ThrowawayPostgres

IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")
_pg_problem: list[str] = []


def pytest_collection_finish(session: pytest.Session) -> None:
    """Everything imported so far lives as long as the run: leave it out of every collection
    (`gc.freeze`), so collecting a finished test's garbage costs only what tests made."""
    gc.collect()
    gc.freeze()


@pytest.fixture(autouse=True)
def _release_finished_bots() -> Iterator[None]:
    """A finished test's bot is collected before the next test starts (see `tests.memory`)."""
    yield
    collect_finished_bots()


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[ThrowawayPostgres | None]:
    """The cluster started for this session (None when a URL was given or none could start)."""
    if os.environ.get("OPSBOT_TEST_POSTGRES_URL"):
        yield None
        return
    server = ThrowawayPostgres()
    try:
        server.url = server.start()
    except (FileNotFoundError, OSError, Exception) as error:  # noqa: BLE001
        _pg_problem.append(f"PostgreSQL could not be started: {error!r}")
        yield None
        return
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="session")
def postgres_admin_url(postgres_server: ThrowawayPostgres | None) -> str | None:
    """A server URL: OPSBOT_TEST_POSTGRES_URL, or the cluster started for this session."""
    given = os.environ.get("OPSBOT_TEST_POSTGRES_URL")
    if given:
        return given
    return postgres_server.url if postgres_server else None


def _asyncpg_dsn(url: str) -> str:
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


async def _create_database(admin_url: str) -> str:
    name = f"t_{uuid.uuid4().hex[:12]}"
    connection = await asyncpg.connect(_asyncpg_dsn(admin_url))
    try:
        await connection.execute(f'CREATE DATABASE "{name}"')
    finally:
        await connection.close()
    return make_url(admin_url).set(database=name).render_as_string(hide_password=False)


async def _drop_database(admin_url: str, url: str) -> None:
    name = make_url(url).database
    connection = await asyncpg.connect(_asyncpg_dsn(admin_url))
    try:
        await connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await connection.close()


@pytest.fixture(params=["sqlite", "postgresql"])
async def empty_db_url(
    request: pytest.FixtureRequest, tmp_path: object, postgres_admin_url: str | None
) -> AsyncIterator[str]:
    """The URL of a new, empty database on each backend."""
    if request.param == "sqlite":
        yield f"sqlite+aiosqlite:///{tmp_path}/opsbot.db"
        return
    if postgres_admin_url is None:
        message = "PostgreSQL is not available: " + "; ".join(_pg_problem)
        if IN_CI:
            pytest.fail(message)
        warnings.warn(message, stacklevel=1)
        pytest.skip(message)
    url = await _create_database(postgres_admin_url)
    try:
        yield url
    finally:
        await _drop_database(postgres_admin_url, url)


@pytest.fixture
async def postgres_db_url(postgres_admin_url: str | None) -> AsyncIterator[str]:
    """A new database on PostgreSQL only, for tests about the server itself."""
    if postgres_admin_url is None:
        message = "PostgreSQL is not available: " + "; ".join(_pg_problem)
        if IN_CI:
            pytest.fail(message)
        pytest.skip(message)
    url = await _create_database(postgres_admin_url)
    engine = make_engine(url)
    async with engine.begin() as connection:
        await connection.run_sync(metadata.create_all)
    await engine.dispose()
    try:
        yield url
    finally:
        await _drop_database(postgres_admin_url, url)


@pytest.fixture
async def db_url(empty_db_url: str) -> str:
    """A database with every table created (the migration test proves this equals Alembic's)."""
    engine = make_engine(empty_db_url)
    async with engine.begin() as connection:
        await connection.run_sync(metadata.create_all)
    await engine.dispose()
    return empty_db_url


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    for problem in _pg_problem:
        terminalreporter.write_line(f"!!! {problem}: PostgreSQL tests did NOT run !!!", red=True)


@pytest.fixture
async def bot(db_url: str) -> AsyncIterator[BotUnderTest]:
    """The real web app and workers on `db_url`, talking to a fresh sandbox."""
    async with running_bot(db_url) as running:
        yield running
