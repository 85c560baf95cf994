"""Durable tasks: work that must not be lost is a row, committed before we acknowledge.

Workers in any replica lease due rows, run the handler registered for the row's kind, and mark
it done; a failure is retried with backoff, and a row whose holder died is taken over when its
lease lapses. Handlers must be idempotent: a crash after the effect but before `done` repeats it.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from sqlalchemy import JSON, Index, Integer, String, Text, and_, func, insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlalchemy.orm import Mapped, mapped_column

from bot.core.batching import Batcher
from bot.core.db import (
    PRUNE_BATCH,
    Base,
    UTCDateTime,
    affected,
    insert_ignore,
    prune_in_batches,
    transaction,
    utcnow,
)
from bot.core.leases import backoff_seconds
from bot.core.metrics import Metrics
from bot.core.projector import NotReady
from bot.core.worker import LeasedWorker, Queue

log = logging.getLogger(__name__)

TaskHandler = Callable[[dict[str, Any]], Awaitable[None]]


class Task(Base):
    __tablename__ = "tasks"
    __table_args__ = (Index("ix_tasks_due", "status", "run_after"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(64))
    key: Mapped[str | None] = mapped_column(String(255), unique=True)
    payload: Mapped[dict[str, Any]] = mapped_column(JSON)
    status: Mapped[str] = mapped_column(String(16), default="pending")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    run_after: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    lease_owner: Mapped[str | None] = mapped_column(String(128))
    lease_expires: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    finished_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)


def _row(kind: str, payload: dict[str, Any], key: str | None, delay: float) -> dict[str, Any]:
    """The columns of a new pending task: the one shape both enqueue paths insert."""
    now = utcnow()
    return {
        "kind": kind,
        "key": key,
        "payload": payload,
        "status": "pending",
        "attempts": 0,
        "run_after": now + dt.timedelta(seconds=delay),
        "created_at": now,
    }


async def enqueue(
    session: AsyncSession,
    kind: str,
    payload: dict[str, Any],
    *,
    key: str | None = None,
    delay: float = 0.0,
) -> bool:
    """Add a task in the caller's transaction. With a key, a second enqueue is a no-op."""
    statement = insert_ignore(session, Task).values(**_row(kind, payload, key, delay))
    if key is not None:
        statement = statement.on_conflict_do_nothing(index_elements=["key"])
    result = await session.execute(statement)
    session.info["wake_tasks"] = True
    return affected(result) == 1


async def enqueue_many(session: AsyncSession, kind: str, payloads: list[dict[str, Any]]) -> None:
    """Add tasks of one kind, without keys, in one statement, in the caller's transaction."""
    if not payloads:
        return
    await session.execute(insert(Task), [_row(kind, payload, None, 0.0) for payload in payloads])
    session.info["wake_tasks"] = True


async def prune(
    sessions: async_sessionmaker[AsyncSession],
    status: str,
    cutoff: dt.datetime,
    batch: int = PRUNE_BATCH,
) -> int:
    """Delete tasks in ``status`` ("done" or "dead") that finished before ``cutoff``.

    Rows from before ``finished_at`` was set on dead tasks count from their creation.
    """
    finished = func.coalesce(Task.finished_at, Task.created_at)
    return await prune_in_batches(
        sessions, Task, and_(Task.status == status, finished < cutoff), batch
    )


TASKS_DUE = Queue(
    model=Task,
    due=lambda now: [Task.status == "pending", Task.run_after <= now],
    order=(Task.run_after, Task.id),
    wake_flag="wake_tasks",
)


class TaskRunner:
    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        owner: str,
        metrics: Metrics,
        *,
        concurrency: int = 8,
        lease_seconds: float = 30.0,
        sweep_seconds: float = 2.0,
        max_attempts: int = 25,
        backoff_base: float = 1.0,
    ) -> None:
        self.sessions = sessions
        self.owner = owner
        self.metrics = metrics
        self.handlers: dict[str, TaskHandler] = {}
        self.lease_seconds = lease_seconds
        self.sweep_seconds = sweep_seconds
        self.max_attempts = max_attempts
        self.backoff_base = backoff_base
        self.worker = LeasedWorker(
            "tasks",
            sessions,
            TASKS_DUE,
            owner,
            self._execute,
            concurrency=concurrency,
            lease_seconds=lease_seconds,
            sweep_seconds=sweep_seconds,
        )
        self._completions: Batcher[int, None] = Batcher(self._mark_done, max_batch=concurrency)

    def register(self, kind: str, handler: TaskHandler) -> None:
        self.handlers[kind] = handler

    def wake(self) -> None:
        self.worker.wake()

    def running(self) -> bool:
        """Whether the worker loops are up (none has ended, by a crash or a stop)."""
        return self.worker.running()

    def start(self) -> None:
        self.worker.start()

    async def stop(self, grace: float = 0.0) -> None:
        await self.worker.stop(grace)
        await self._completions.close()

    async def _execute(self, task: Task) -> None:
        handler = self.handlers.get(task.kind)
        try:
            if handler is None:
                raise LookupError(f"no handler for task kind {task.kind!r}")
            await handler(task.payload)
        except NotReady as waiting:  # e.g. the card it threads under is not posted yet
            log.debug("tasks: %s #%s waits: %s", task.kind, task.id, waiting)
            await self._retry_later(task, seconds=min(2.0, self.sweep_seconds))
            return
        except Exception as error:  # a failing handler must not stop the worker
            log.warning("tasks: %s #%s failed: %r", task.kind, task.id, error)
            await self._record_failure(task, error)
            self.metrics.tasks.labels(task.kind, "retry").inc()
            return
        await self._completions.submit(task.id)
        self.metrics.tasks.labels(task.kind, "done").inc()

    async def _mark_done(self, task_ids: list[int]) -> list[None]:
        """Tasks finished at the same moment are marked done in one statement."""
        async with transaction(self.sessions) as session:
            await session.execute(
                update(Task)
                .where(Task.id.in_(task_ids))
                # The payload (often a whole Slack event) is dropped with the same statement:
                # once the work is done nothing needs it, and it may hold personal data.
                .values(
                    status="done",
                    payload={},
                    finished_at=utcnow(),
                    lease_owner=None,
                    lease_expires=None,
                )
            )
        return [None] * len(task_ids)

    async def _retry_later(self, task: Task, seconds: float) -> None:
        async with transaction(self.sessions) as session:
            await session.execute(
                update(Task)
                .where(Task.id == task.id)
                .values(
                    run_after=utcnow() + dt.timedelta(seconds=seconds),
                    lease_owner=None,
                    lease_expires=None,
                )
            )

    async def _record_failure(self, task: Task, error: Exception) -> None:
        attempts = task.attempts + 1
        dead = attempts >= self.max_attempts
        async with transaction(self.sessions) as session:
            await session.execute(
                update(Task)
                .where(Task.id == task.id)
                .values(
                    attempts=attempts,
                    status="dead" if dead else "pending",
                    # A dead task's age, for retention, counts from when it died.
                    finished_at=utcnow() if dead else None,
                    last_error=repr(error)[:2000],
                    run_after=utcnow()
                    + dt.timedelta(seconds=backoff_seconds(attempts, base=self.backoff_base)),
                    lease_owner=None,
                    lease_expires=None,
                )
            )

    async def _pending_now(self) -> bool:
        """Any task due now, whoever holds its lease."""
        async with self.sessions() as session:
            found = await session.scalar(
                select(Task.id).where(Task.status == "pending", Task.run_after <= utcnow()).limit(1)
            )
            return found is not None

    async def drain(self, timeout: float = 10.0) -> None:
        """Wait until no task is due or running (tests and the demo use this)."""
        deadline = asyncio.get_running_loop().time() + timeout
        while asyncio.get_running_loop().time() < deadline:
            if not self.worker.active and not await self._pending_now():
                return
            self.wake()
            await asyncio.sleep(0.02)
        raise TimeoutError("tasks still pending")
