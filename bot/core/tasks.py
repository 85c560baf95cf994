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
from sqlalchemy.orm import Mapped, Session, mapped_column

from bot.core.db import (
    PRUNE_BATCH,
    Base,
    UTCDateTime,
    affected,
    insert_ignore,
    on_commit,
    prune_in_batches,
    transaction,
    utcnow,
)
from bot.core.leases import backoff_seconds, lease_free, renew_leases, try_lease, wait_for_wake
from bot.core.metrics import Metrics
from bot.core.projector import NotReady

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
        self.concurrency = concurrency
        self.lease_seconds = lease_seconds
        self.sweep_seconds = sweep_seconds
        self.max_attempts = max_attempts
        self.backoff_base = backoff_base
        self._wake = asyncio.Event()
        self._running: set[int] = set()
        self._loops: list[asyncio.Task[None]] = []
        self._unhook = on_commit(self._wake_on_commit)

    def register(self, kind: str, handler: TaskHandler) -> None:
        self.handlers[kind] = handler

    def wake(self) -> None:
        self._wake.set()

    def _wake_on_commit(self, session: Session) -> None:
        if session.info.pop("wake_tasks", False):
            self._wake.set()

    def running(self) -> bool:
        """Whether the worker loops are up (none has ended, by a crash or a stop)."""
        return bool(self._loops) and not any(loop.done() for loop in self._loops)

    def start(self) -> None:
        self._loops = [
            asyncio.create_task(self._run_loop(), name="tasks"),
            asyncio.create_task(self._renew_loop(), name="tasks-renew"),
        ]

    async def stop(self) -> None:
        self._unhook()
        for loop in self._loops:
            loop.cancel()
        await asyncio.gather(*self._loops, return_exceptions=True)
        self._loops = []

    async def _run_loop(self) -> None:
        slots = asyncio.Semaphore(self.concurrency)
        inflight: set[asyncio.Task[None]] = set()

        def finished(job: asyncio.Task[None]) -> None:
            inflight.discard(job)
            slots.release()

        while True:
            self._wake.clear()
            try:
                due = await self._due_ids(limit=self.concurrency * 4)
            except Exception:
                log.exception("tasks: cannot read due tasks; retrying")
                due = []
            for task_id in due:
                if task_id in self._running:
                    continue
                await slots.acquire()
                job = asyncio.create_task(self._run_one(task_id))
                inflight.add(job)
                job.add_done_callback(finished)
            if len(due) >= self.concurrency * 4:
                continue
            await wait_for_wake(self._wake, self.sweep_seconds)

    async def _renew_loop(self) -> None:
        while True:
            await asyncio.sleep(self.lease_seconds / 3)
            try:
                async with transaction(self.sessions) as session:
                    await renew_leases(
                        session, Task, list(self._running), self.owner, self.lease_seconds
                    )
            except Exception:
                log.exception("tasks: lease renewal failed")

    async def _due_ids(self, limit: int) -> list[int]:
        now = utcnow()
        async with self.sessions() as session:
            rows = await session.execute(
                select(Task.id)
                .where(Task.status == "pending", Task.run_after <= now, lease_free(Task, now))
                .order_by(Task.run_after, Task.id)
                .limit(limit)
            )
            return [row[0] for row in rows]

    async def _run_one(self, task_id: int) -> None:
        self._running.add(task_id)
        try:
            async with transaction(self.sessions) as session:
                if not await try_lease(session, Task, task_id, self.owner, self.lease_seconds):
                    return
                task = await session.get(Task, task_id)
            if task is None or task.status != "pending":
                return
            await self._execute(task)
        except Exception:
            log.exception("tasks: task %s could not be run", task_id)
        finally:
            self._running.discard(task_id)

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
        async with transaction(self.sessions) as session:
            await session.execute(
                update(Task)
                .where(Task.id == task.id)
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
        self.metrics.tasks.labels(task.kind, "done").inc()

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
            if not self._running and not await self._pending_now():
                return
            self.wake()
            await asyncio.sleep(0.02)
        raise TimeoutError("tasks still pending")
