"""Group commit at the acknowledgement: events arriving together share one transaction.

Each event must be durable before Slack hears "200": its `event_id` claimed in the ledger and
the event stored as a task, committed. Committing each alone makes the commit the cost of an
event. Here an event waits at most `window` seconds (2 ms) for others; then one transaction
claims all their ids in one statement, stores the new ones in one statement and commits, and
every waiting request is answered. Durability is unchanged: nobody is answered before the
commit that holds their event, and a failed commit fails every request in it (Slack retries).
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.core import ledger, tasks
from bot.core.db import transaction


@dataclass
class _Waiting:
    key: str
    payload: dict[str, Any]
    stored: asyncio.Future[bool] = field(
        default_factory=lambda: asyncio.get_running_loop().create_future()
    )


class GroupCommit:
    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        source: str,
        kind: str,
        *,
        window: float = 0.002,
        max_batch: int = 128,
    ) -> None:
        self.sessions = sessions
        self.source = source
        self.kind = kind
        self.window = window
        self.max_batch = max_batch
        self._waiting: list[_Waiting] = []
        self._timer: asyncio.TimerHandle | None = None
        self._flushes: set[asyncio.Task[None]] = set()
        self.commits = 0  # transactions committed: fewer than events when they arrive together

    async def store(self, key: str, payload: dict[str, Any]) -> bool:
        """Claim `key` and store `payload` as a task, durably; False when `key` was seen before."""
        waiting = _Waiting(key, payload)
        self._waiting.append(waiting)
        if len(self._waiting) >= self.max_batch:
            self._flush_now()
        elif self._timer is None:
            self._timer = asyncio.get_running_loop().call_later(self.window, self._flush_now)
        return await waiting.stored

    def _flush_now(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        batch, self._waiting = self._waiting, []
        if batch:
            flush = asyncio.create_task(self._commit(batch))
            self._flushes.add(flush)
            flush.add_done_callback(self._flushes.discard)

    async def _commit(self, batch: list[_Waiting]) -> None:
        # A redelivery may arrive in the same batch as its original: only the first one counts.
        first: dict[str, _Waiting] = {}
        for waiting in batch:
            first.setdefault(waiting.key, waiting)
        try:
            async with transaction(self.sessions) as session:
                fresh = await ledger.claim_many(session, self.source, list(first))
                new = [first[key] for key in first if key[:255] in fresh]
                await tasks.enqueue_many(session, self.kind, [w.payload for w in new])
            self.commits += 1
        except BaseException as error:  # the commit failed: nobody is told their event is kept
            for waiting in batch:
                if not waiting.stored.done():
                    waiting.stored.set_exception(error)
            if not isinstance(error, Exception):
                raise
            return
        stored = {id(w) for w in new}
        for waiting in batch:
            if not waiting.stored.done():
                waiting.stored.set_result(id(waiting) in stored)
