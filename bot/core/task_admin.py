"""`opsbot tasks`: what is waiting, what gave up, and putting a task back or away.

Dead tasks keep their payload, so a retry runs the same work again. A task a worker holds a
live lease on is not dropped: it is running now.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import sys
from dataclasses import dataclass

from sqlalchemy import delete, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.core.db import make_engine, make_sessionmaker, transaction, utcnow
from bot.core.leases import lease_free
from bot.core.redaction import redact_text
from bot.core.tasks import WAKE_FLAG, Task

LIST_LIMIT = 200


@dataclass(frozen=True)
class Outcome:
    ok: bool
    message: str


async def list_tasks(sessions: async_sessionmaker[AsyncSession], *, dead: bool) -> list[str]:
    """One line per task not done (only those that gave up with `dead`), oldest first."""
    statuses = ["dead"] if dead else ["pending", "dead"]
    async with sessions() as session:
        rows = await session.scalars(
            select(Task)
            .where(Task.status.in_(statuses))
            .order_by(Task.created_at, Task.id)
            .limit(LIST_LIMIT)
        )
        return [_line(task, utcnow()) for task in rows]


def _line(task: Task, now: dt.datetime) -> str:
    age = _duration(now - task.created_at)
    state = task.status
    if task.status == "pending" and task.lease_expires and task.lease_expires > now:
        state = "running"
    elif task.status == "pending" and task.run_after > now:
        state = f"waiting {_duration(task.run_after - now)}"
    error = redact_text(task.last_error or "")[:120].replace("\n", " ")
    counts = f"attempts={task.attempts:<3} age={age:<6}"
    return f"{task.id:>8}  {task.kind:<24} {state:<16} {counts} {error}"


def _duration(delta: dt.timedelta) -> str:
    seconds = max(0, int(delta.total_seconds()))
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size:
            return f"{seconds // size}{unit}"
    return f"{seconds}s"


async def retry(sessions: async_sessionmaker[AsyncSession], task_id: int) -> Outcome:
    """Run a dead or waiting task again now, with a fresh count of attempts."""
    async with transaction(sessions) as session:
        task = await session.get(Task, task_id)
        if task is None or task.status == "done":
            return Outcome(False, f"no task {task_id} to retry (unknown or already done)")
        await session.execute(
            update(Task)
            .where(Task.id == task_id)
            .values(status="pending", attempts=0, run_after=utcnow(), finished_at=None)
        )
        session.info[WAKE_FLAG] = True
        return Outcome(True, f"task {task_id} ({task.kind}) will run again now")


async def drop(sessions: async_sessionmaker[AsyncSession], task_id: int) -> Outcome:
    """Delete a task that is not running; its work will not happen."""
    async with transaction(sessions) as session:
        task = await session.get(Task, task_id)
        if task is None:
            return Outcome(False, f"no task {task_id}")
        result = await session.execute(
            delete(Task).where(Task.id == task_id, lease_free(Task, utcnow()))
        )
        if not result.rowcount:  # type: ignore[attr-defined]
            return Outcome(False, f"task {task_id} is running now; try again when it is not")
        return Outcome(True, f"task {task_id} ({task.kind}, {task.status}) dropped")


def run_command(database_url: str, action: str, task_id: int | None, *, dead: bool) -> int:
    """The `opsbot tasks` command: prints its answer, returns the exit status."""
    if action != "list" and task_id is None:
        print(f"opsbot: tasks {action} needs a task id (see `opsbot tasks list`)", file=sys.stderr)
        return 2

    async def run() -> int:
        engine = make_engine(database_url)
        sessions = make_sessionmaker(engine)
        try:
            if action == "list":
                lines = await list_tasks(sessions, dead=dead)
                print("\n".join(lines) if lines else "no tasks waiting or dead")
                return 0
            assert task_id is not None
            outcome = await (retry if action == "retry" else drop)(sessions, task_id)
        finally:
            await engine.dispose()
        print(outcome.message, file=sys.stdout if outcome.ok else sys.stderr)
        return 0 if outcome.ok else 1

    return asyncio.run(run())
