"""One worker loop for leased rows: durable tasks and projected views both run on it.

Each turn claims as many due rows as there are free slots, in one statement: the rows' leases
are taken and the rows returned together (`UPDATE ... WHERE id IN (due rows) RETURNING`, with
`FOR UPDATE SKIP LOCKED` on PostgreSQL so replicas claiming at once take different rows). Each
claimed row is handed to the owner's `handle` in its own slot; leases of rows still running are
renewed. A commit that made new work wakes the loop at once; a sweep every `sweep_seconds` is
the safety net (work made by another replica, a retry whose time came).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any, Generic, Protocol, TypeVar

from sqlalchemy import ColumnElement, Select, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlalchemy.orm import Session

from bot.core.db import dialect_of, on_commit, transaction, utcnow
from bot.core.leases import lease_free, renew_leases, wait_for_wake

log = logging.getLogger(__name__)


class Leased(Protocol):
    @property
    def id(self) -> int: ...


Row = TypeVar("Row", bound=Leased)


# The wake flags of every queue: what a commit may carry to other replicas (`wakeups`).
_WAKE_FLAGS: set[str] = set()


def wake_flags() -> frozenset[str]:
    return frozenset(_WAKE_FLAGS)


def register_wake_flag(flag: str) -> None:
    _WAKE_FLAGS.add(flag)


@dataclass(frozen=True)
class Queue(Generic[Row]):
    """Which rows of `model` are due now (besides being free of leases), in what order."""

    model: type[Row]
    due: Callable[[dt.datetime], Sequence[ColumnElement[bool]]]
    order: Sequence[Any]
    # The session.info flag a writer sets to wake this loop after its commit.
    wake_flag: str

    def __post_init__(self) -> None:
        register_wake_flag(self.wake_flag)


class LeasedWorker(Generic[Row]):
    def __init__(
        self,
        name: str,
        sessions: async_sessionmaker[AsyncSession],
        queue: Queue[Row],
        owner: str,
        handle: Callable[[Row], Awaitable[None]],
        *,
        concurrency: int,
        lease_seconds: float,
        sweep_seconds: float,
    ) -> None:
        self.name = name
        self.sessions = sessions
        self.queue = queue
        self.owner = owner
        self.handle = handle
        self.concurrency = concurrency
        self.lease_seconds = lease_seconds
        self.sweep_seconds = sweep_seconds
        self._jobs: dict[int, asyncio.Task[None]] = {}
        self._wake = asyncio.Event()
        # Whether due rows may be waiting for a slot: the last claim filled every free slot, or
        # there was none free to claim with. Only then does a slot coming free look again; an
        # empty look after every batch would cost a transaction per batch.
        self._may_have_more = False
        self._loops: list[asyncio.Task[None]] = []
        self._unhook = on_commit(self._wake_on_commit)

    def wake(self) -> None:
        self._wake.set()

    def _wake_on_commit(self, session: Session) -> None:
        if session.info.pop(self.queue.wake_flag, False):
            self._wake.set()

    def running(self) -> bool:
        """Whether the loops are up (none has ended, by a crash or a stop)."""
        return bool(self._loops) and not any(loop.done() for loop in self._loops)

    def start(self) -> None:
        self._loops = [
            asyncio.create_task(self._run_loop(), name=self.name),
            asyncio.create_task(self._renew_loop(), name=f"{self.name}-renew"),
        ]

    async def stop(self, grace: float = 0.0) -> None:
        """Stop claiming; let running rows finish within `grace` seconds; give the leases of
        the rest back, so another replica takes them over at once instead of when they lapse.
        """
        self._unhook()
        claiming, others = self._loops[:1], self._loops[1:]
        for loop in claiming:
            loop.cancel()
        await asyncio.gather(*claiming, return_exceptions=True)
        if self._jobs:
            log.info("%s: waiting up to %gs for %d running", self.name, grace, len(self._jobs))
            await asyncio.wait(list(self._jobs.values()), timeout=grace)
        unfinished = dict(self._jobs)
        for job in unfinished.values():
            job.cancel()
        await asyncio.gather(*unfinished.values(), return_exceptions=True)
        for loop in others:
            loop.cancel()
        await asyncio.gather(*others, return_exceptions=True)
        self._loops = []
        if unfinished:
            await self._release(list(unfinished))

    async def _release(self, row_ids: list[int]) -> None:
        model: Any = self.queue.model
        try:
            async with transaction(self.sessions) as session:
                await session.execute(
                    update(model)
                    .where(model.id.in_(row_ids), model.lease_owner == self.owner)
                    .values(lease_owner=None, lease_expires=None)
                )
                session.info[self.queue.wake_flag] = True  # other replicas take them now
            log.info("%s: gave back %d unfinished: %s", self.name, len(row_ids), row_ids)
        except Exception:
            log.exception("%s: could not give back %s; their leases will lapse", self.name, row_ids)

    async def claim(self, limit: int) -> list[Row]:
        """Lease up to `limit` due rows nobody holds, in one statement, and return them."""
        model: Any = self.queue.model
        now = utcnow()
        async with transaction(self.sessions) as session:
            due = self.due_select(now, limit)
            if dialect_of(session) == "postgresql":
                due = due.with_for_update(skip_locked=True)
            claimed = await session.scalars(
                update(model)
                .where(model.id.in_(due.scalar_subquery()), lease_free(model, now))
                .values(
                    lease_owner=self.owner,
                    lease_expires=now + dt.timedelta(seconds=self.lease_seconds),
                )
                .returning(model),
                execution_options={"synchronize_session": False},
            )
            return list(claimed)

    def due_select(self, now: dt.datetime, limit: int) -> Select[tuple[int]]:
        """The ids of up to `limit` rows due at `now` that nobody holds, in the queue's order."""
        model: Any = self.queue.model
        return (
            select(model.id)
            .where(*self.queue.due(now), lease_free(model, now))
            .order_by(*self.queue.order)
            .limit(limit)
        )

    async def _run_loop(self) -> None:
        while True:
            self._wake.clear()
            free = self.concurrency - len(self._jobs)
            rows: list[Row] = []
            if free > 0:
                try:
                    rows = await self.claim(free)
                except Exception:
                    log.exception("%s: cannot claim due rows; retrying", self.name)
            self._may_have_more = free <= 0 or len(rows) == free
            for row in rows:
                self._spawn(row)
            if rows and len(rows) == free:
                continue  # maybe more are due: the next turn waits only if every slot is busy
            await wait_for_wake(self._wake, self.sweep_seconds)

    def _spawn(self, row: Row) -> None:
        row_id = row.id
        job = asyncio.create_task(self._run_one(row))
        self._jobs[row_id] = job
        job.add_done_callback(lambda _: self._finished(row_id))

    @property
    def active(self) -> set[int]:
        """Ids of the rows this replica is working on."""
        return set(self._jobs)

    def _finished(self, row_id: int) -> None:
        self._jobs.pop(row_id, None)
        if self._may_have_more:
            self._wake.set()  # a slot is free for what may be waiting

    async def _run_one(self, row: Row) -> None:
        try:
            await self.handle(row)
        except Exception:
            log.exception("%s: row %s could not be handled", self.name, row.id)

    async def _renew_loop(self) -> None:
        while True:
            await asyncio.sleep(self.lease_seconds / 3)
            if not self._jobs:
                continue
            try:
                async with transaction(self.sessions) as session:
                    await renew_leases(
                        session,
                        self.queue.model,
                        list(self.active),
                        self.owner,
                        self.lease_seconds,
                    )
            except Exception:
                log.exception("%s: lease renewal failed", self.name)
