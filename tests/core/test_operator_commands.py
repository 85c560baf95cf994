"""The operator's commands, run as processes: migrations (`opsbot db`, `serve --no-migrate`,
replicas migrating at once) and durable tasks (`opsbot tasks`)."""

from __future__ import annotations

import asyncio
import datetime as dt
import os
import subprocess
import sys
from pathlib import Path

from alembic.script import ScriptDirectory
from sqlalchemy import inspect, select

from bot.core import tasks
from bot.core.db import make_engine, make_sessionmaker, transaction, utcnow
from bot.core.tasks import Task
from bot.migrate import alembic_config, current, upgrade
from tests.core.test_cli import OPSBOT, run, serving

HEAD = str(ScriptDirectory.from_config(alembic_config("sqlite://")).get_current_head())


def _sync_url(url: str) -> str:
    return url.replace("+aiosqlite", "").replace("+asyncpg", "")


def test_db_current_history_downgrade_and_upgrade_again(empty_db_url: str) -> None:
    env = {"DATABASE_URL": _sync_url(empty_db_url)}
    empty = run("db", "current", env=env)
    assert empty.returncode == 0 and "no revision" in empty.stdout
    up = run("db", "upgrade", env=env)
    assert up.returncode == 0 and HEAD in up.stdout, up.stderr
    assert HEAD in run("db", "current", env=env).stdout
    history = run("db", "history", env=env).stdout
    assert "(head)" in history and "(current)" in history
    refused = run("db", "downgrade", env=env)
    assert refused.returncode == 2 and "needs a revision" in refused.stderr
    down = run("db", "downgrade", "-1", env=env)
    assert down.returncode == 0, down.stderr
    assert HEAD not in run("db", "current", env=env).stdout
    again = run("db", "upgrade", env=env)
    assert again.returncode == 0 and HEAD in run("db", "current", env=env).stdout


def test_replicas_migrating_an_empty_database_together_all_succeed(empty_db_url: str) -> None:
    """Pods start at once on a fresh database: they take turns instead of racing on DDL."""
    env = {"DATABASE_URL": _sync_url(empty_db_url)}
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "OPSBOT_"))}
    processes = [
        subprocess.Popen(
            [*OPSBOT, "db", "upgrade"],
            env={**clean, **env},
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(3)
    ]
    outcomes = [(process.wait(timeout=120), process.stderr) for process in processes]
    errors = [stream.read() if stream else "" for _status, stream in outcomes]
    assert [status for status, _ in outcomes] == [0, 0, 0], errors
    assert HEAD in current(empty_db_url)


def test_serve_with_no_migrate_leaves_the_schema_to_the_migration_job_and_says_it_started(
    tmp_path: Path,
) -> None:
    url = f"sqlite:///{tmp_path}/pod.db"
    with serving(url, "--no-migrate", log=tmp_path / "serve.log") as base:
        port = base.rsplit(":", 1)[-1]
    assert current(url) == ""  # nothing migrated: the job's to do
    log = (tmp_path / "serve.log").read_text()
    started = [line for line in log.splitlines() if "opsbot 0.1.0 starting" in line]
    assert started, log
    assert f"http on 127.0.0.1:{port}" in started[0] and "store sqlite" in started[0]
    assert "incidents" in started[0] and "xoxb" not in log


async def _seed_tasks(url: str) -> dict[str, int]:
    engine = make_engine(url)
    sessions = make_sessionmaker(engine)
    async with transaction(sessions) as session:
        for name in ("dead", "waiting", "running"):
            await tasks.enqueue(session, f"demo.{name}", {"n": name}, key=name)
    async with transaction(sessions) as session:
        ids = {t.key or "": t.id for t in await session.scalars(select(Task))}
        dead = await session.get(Task, ids["dead"])
        assert dead is not None
        dead.status, dead.attempts = "dead", 25
        dead.last_error = (
            "RuntimeError('token xoxb-1234567890-1234567890123-abcdefghijklmnopqrstuvwx')"
        )
        running = await session.get(Task, ids["running"])
        assert running is not None
        running.lease_owner = "pod-1"
        running.lease_expires = utcnow() + dt.timedelta(seconds=30)
    await engine.dispose()
    return ids


async def _task(url: str, task_id: int) -> Task | None:
    engine = make_engine(url)
    async with make_sessionmaker(engine)() as session:
        task = await session.get(Task, task_id)
    await engine.dispose()
    return task


def test_tasks_list_retry_and_drop(tmp_path: Path) -> None:
    db_url = f"sqlite+aiosqlite:///{tmp_path}/tasks.db"
    upgrade(db_url)
    ids = asyncio.run(_seed_tasks(db_url))
    env = {"DATABASE_URL": _sync_url(db_url)}
    listed = run("tasks", "list", env=env)
    assert listed.returncode == 0
    lines = {line.split()[0]: line for line in listed.stdout.splitlines()}
    assert set(lines) == {str(task_id) for task_id in ids.values()}
    assert "demo.dead" in lines[str(ids["dead"])] and " dead " in lines[str(ids["dead"])]
    assert "xoxb-1234567890" not in listed.stdout  # errors are shown redacted
    assert " running " in lines[str(ids["running"])]
    dead_only = run("tasks", "list", "--dead", env=env).stdout.splitlines()
    assert [line.split()[0] for line in dead_only] == [str(ids["dead"])]

    retried = run("tasks", "retry", str(ids["dead"]), env=env)
    assert retried.returncode == 0 and "will run again" in retried.stdout
    task = asyncio.run(_task(db_url, ids["dead"]))
    assert task is not None and (task.status, task.attempts) == ("pending", 0)
    assert task.payload == {"n": "dead"}  # the same work runs again

    busy = run("tasks", "drop", str(ids["running"]), env=env)
    assert busy.returncode == 1 and "running now" in busy.stderr
    assert asyncio.run(_task(db_url, ids["running"])) is not None
    dropped = run("tasks", "drop", str(ids["waiting"]), env=env)
    assert dropped.returncode == 0 and asyncio.run(_task(db_url, ids["waiting"])) is None

    unknown = run("tasks", "retry", "999999", env=env)
    assert unknown.returncode == 1 and "no task 999999" in unknown.stderr
    missing = run("tasks", "drop", env=env)
    assert missing.returncode == 2 and "needs a task id" in missing.stderr


def test_alembic_reads_the_database_from_database_url(tmp_path: Path) -> None:
    """The alembic command line migrates the database the bot uses, not a file it names."""
    url = f"sqlite:///{tmp_path}/alembic.db"
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "OPSBOT_"))}
    root = Path(__file__).resolve().parents[2]
    result = subprocess.run(
        [str(Path(sys.executable).parent / "alembic"), "upgrade", "heads"],
        env={**clean, "DATABASE_URL": url},
        cwd=root,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    engine = make_engine(url)

    async def tables() -> set[str]:
        async with engine.connect() as connection:
            names = await connection.run_sync(lambda sync: inspect(sync).get_table_names())
        await engine.dispose()
        return set(names)

    assert {"tasks", "alembic_version"} <= asyncio.run(tables())
    upgrade(url)  # and the bot agrees it is current
