"""Durable tasks: work that must not be lost is a row, committed before we acknowledge.

Workers in any replica lease due rows and run what is registered for the row's kind, in two
parts, either of which may be absent:

- the handler, `handler(payload)`, for effects outside the database (Slack calls). It must be
  idempotent: a crash after its effect but before the task is done repeats it;
- the writer, `writer(session, payloads)`, for database effects. It runs in the transaction that
  marks the tasks done, so its rows and the completions commit together or not at all: a crash
  repeats neither half of it, and a writer never runs twice for one task.

Completions arriving together share one transaction, and a writer is called once with the
payloads of all its kind's tasks in it, so hot rows are written a batch to a statement. When a
writer fails, the batch is written again one task to a savepoint, so the failing task fails
alone. A task is completed only by the replica that still holds its lease; a failure is retried
with backoff, and a row whose holder died is taken over when its lease lapses.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import JSON, Index, Integer, String, Text, and_, func, insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlalchemy.orm import Mapped, mapped_column

from bot.core import logs, workspaces
from bot.core.batching import Batcher
from bot.core.db import (
    PRUNE_BATCH,
    Base,
    UTCDateTime,
    affected,
    insert_ignore,
    prune_in_batches,
    table_of,
    transaction,
    utcnow,
)
from bot.core.leases import backoff_seconds
from bot.core.metrics import Metrics
from bot.core.projector import NotReady
from bot.core.worker import LeasedWorker, Queue
from bot.core.workspaces import InWorkspace, Workspace, within

log = logging.getLogger(__name__)

# Set in session.info by a transaction that makes tasks: the task loops wake at its commit.
WAKE_FLAG = "wake_tasks"
TaskHandler = Callable[[dict[str, Any]], Awaitable[None]]
TaskWriter = Callable[[AsyncSession, list[dict[str, Any]]], Awaitable[None]]


class Task(InWorkspace, Base):
    """A task runs within the workspace it was made in (`bot.core.workspaces`)."""

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


def _row(
    kind: str,
    payload: dict[str, Any],
    key: str | None,
    delay: float,
    workspace: Workspace | None = None,
) -> dict[str, Any]:
    """The columns of a new pending task: the one shape both enqueue paths insert. It belongs
    to `workspace`, else to the workspace the caller is within."""
    now = utcnow()
    workspace = workspace or workspaces.current()
    return {
        "team_id": workspace.team_id if workspace else workspaces.UNKNOWN,
        "enterprise_id": workspace.enterprise_id if workspace else None,
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
    statement = insert_ignore(session, table_of(Task))
    if key is not None:
        statement = statement.on_conflict_do_nothing(index_elements=["key"])
    # Values bound, not embedded: the statement's text is the same for every task, and cached.
    result = await session.execute(statement, _row(kind, payload, key, delay))
    session.info[WAKE_FLAG] = True
    return affected(result) == 1


async def enqueue_many(
    session: AsyncSession,
    kind: str,
    payloads: list[dict[str, Any]],
    workspaces_of: list[Workspace | None] | None = None,
) -> None:
    """Add tasks of one kind, without keys, in one statement, in the caller's transaction;
    each within its own workspace from `workspaces_of` when given."""
    if not payloads:
        return
    chosen = workspaces_of or [None] * len(payloads)
    # The table, not the mapped class: a plain executemany, without the ORM's bulk path.
    rows = [
        _row(kind, payload, None, 0.0, workspace)
        for payload, workspace in zip(payloads, chosen, strict=True)
    ]
    await session.execute(insert(table_of(Task)), rows)
    session.info[WAKE_FLAG] = True


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
    wake_flag=WAKE_FLAG,
)


@dataclass(frozen=True)
class Completion:
    """A task whose handler has run, waiting for the transaction that completes it."""

    task: Task
    writer: TaskWriter | None


# What completing a task came to: done, taken over by another replica, or the writer's error.
DONE = "done"
LOST = "lost"
Outcome = str | Exception


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
        self.writers: dict[str, TaskWriter] = {}
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
        self._completions: Batcher[Completion, Outcome] = Batcher(
            self._complete, max_batch=concurrency
        )

    def register(
        self, kind: str, handler: TaskHandler | None = None, *, writer: TaskWriter | None = None
    ) -> None:
        """What runs a task of `kind`: a handler (outside the database), a writer (inside the
        completing transaction), or both, the handler first."""
        if handler is None and writer is None:
            raise ValueError(f"task kind {kind!r} needs a handler or a writer")
        if handler is not None:
            self.handlers[kind] = handler
        if writer is not None:
            self.writers[kind] = writer

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
        logs.bind_task(task.id, task.kind, task.payload)  # this row's own asyncio task
        with within(workspaces.of_record(task)):
            await self._execute_within(task)

    async def _execute_within(self, task: Task) -> None:
        handler = self.handlers.get(task.kind)
        writer = self.writers.get(task.kind)
        try:
            if handler is None and writer is None:
                raise LookupError(f"no handler for task kind {task.kind!r}")
            if handler is not None:
                await handler(task.payload)
            outcome = await self._completions.submit(Completion(task, writer))
        except Exception as error:  # a failing handler must not stop the worker
            outcome = error
            await self._record_failure(task, error)
        self._count(task, outcome)

    def _count(self, task: Task, outcome: Outcome) -> None:
        if isinstance(outcome, NotReady):  # e.g. the card it threads under is not posted yet
            log.debug("tasks: %s #%s waits: %s", task.kind, task.id, outcome)
            return
        if isinstance(outcome, Exception):
            log.warning("tasks: %s #%s failed: %r", task.kind, task.id, outcome)
            self.metrics.tasks.labels(task.kind, "retry").inc()
            return
        if outcome == LOST:
            log.info("tasks: %s #%s was taken over by another worker", task.kind, task.id)
        self.metrics.tasks.labels(task.kind, outcome).inc()

    async def _complete(self, batch: list[Completion]) -> list[Outcome]:
        """Mark finished tasks done and run their writers, in one transaction.

        The completing UPDATE comes first: it fences off tasks whose lease another replica
        took (they are not ours to complete, and their writers do not run), and on SQLite it
        opens the real transaction the writers' savepoints nest in.
        """
        async with transaction(self.sessions) as session:
            held = set(
                await session.scalars(
                    update(Task)
                    .where(
                        Task.id.in_([item.task.id for item in batch]),
                        Task.status == "pending",
                        Task.lease_owner == self.owner,
                    )
                    # The payload (often a whole Slack event) is dropped with the same statement:
                    # once the work is done nothing needs it, and it may hold personal data.
                    .values(
                        status="done",
                        payload={},
                        finished_at=utcnow(),
                        lease_owner=None,
                        lease_expires=None,
                    )
                    .returning(Task.id),
                    execution_options={"synchronize_session": False},
                )
            )
            # In the order the tasks were made: a writer sees a batch as it was stored.
            mine = sorted(
                (item for item in batch if item.task.id in held and item.writer is not None),
                key=lambda item: item.task.id,
            )
            outcomes: dict[int, Outcome] = {item.task.id: DONE for item in mine}
            if mine and not await self._write_together(session, mine):
                for item in mine:
                    outcomes[item.task.id] = await self._write_alone(session, item)
        return [outcomes.get(item.task.id, DONE if item.task.id in held else LOST)
                for item in batch]  # fmt: skip

    async def _write_together(self, session: AsyncSession, items: list[Completion]) -> bool:
        """Each writer once, with all its tasks' payloads; False (and nothing written) if any
        writer failed."""
        by_writer: dict[tuple[TaskWriter, Workspace | None], list[dict[str, Any]]] = {}
        for item in items:
            assert item.writer is not None
            key = (item.writer, workspaces.of_record(item.task))
            by_writer.setdefault(key, []).append(item.task.payload)
        try:
            async with session.begin_nested():
                for (writer, workspace), payloads in by_writer.items():
                    with within(workspace):  # a writer writes for one workspace at a time
                        await writer(session, payloads)
        except Exception:  # one of them is bad: each is written alone to find which
            return False
        return True

    async def _write_alone(self, session: AsyncSession, item: Completion) -> Outcome:
        assert item.writer is not None
        try:
            async with session.begin_nested():
                with within(workspaces.of_record(item.task)):
                    await item.writer(session, [item.task.payload])
        except Exception as error:  # its savepoint is gone; the task goes back, the rest stay
            await session.execute(
                update(Task)
                .where(Task.id == item.task.id)
                .values(payload=item.task.payload, **self._failure_values(item.task, error))
            )
            return error
        return DONE

    def _failure_values(self, task: Task, error: Exception) -> dict[str, Any]:
        """The columns of a task sent back after `error`: later, or dead after too many tries."""
        if isinstance(error, NotReady):  # waiting is not failing: no attempt is spent
            later = min(2.0, self.sweep_seconds)
            return {
                "status": "pending",
                "finished_at": None,
                "run_after": utcnow() + dt.timedelta(seconds=later),
                "lease_owner": None,
                "lease_expires": None,
            }
        attempts = task.attempts + 1
        dead = attempts >= self.max_attempts
        return {
            "attempts": attempts,
            "status": "dead" if dead else "pending",
            # A dead task's age, for retention, counts from when it died.
            "finished_at": utcnow() if dead else None,
            "last_error": repr(error)[:2000],
            "run_after": utcnow()
            + dt.timedelta(seconds=backoff_seconds(attempts, base=self.backoff_base)),
            "lease_owner": None,
            "lease_expires": None,
        }

    async def _record_failure(self, task: Task, error: Exception) -> None:
        """Send a task whose handler (or completing transaction) failed back to the queue, if
        this replica still holds it."""
        try:
            async with transaction(self.sessions) as session:
                await session.execute(
                    update(Task)
                    .where(
                        Task.id == task.id,
                        Task.status == "pending",
                        Task.lease_owner == self.owner,
                    )
                    .values(**self._failure_values(task, error))
                )
        except Exception:  # the database is away: the lease lapses and the task runs again
            log.exception("tasks: %s #%s: could not record its failure", task.kind, task.id)

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
