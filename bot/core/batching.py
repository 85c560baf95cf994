"""Work submitted at the same moment, done together: one call (one transaction) for a batch.

A submitter waits at most `window` seconds for others, or none once `max_batch` are waiting;
then one call of `run` handles the batch and each submitter gets its own result, or the batch's
error. Nobody hears "done" before the call that did their item has returned.

A batch runs in a context of its own, not its first submitter's: submitters may be within
different workspaces (`bot.core.workspaces`), and `run` says which it acts for, item by item.
"""

from __future__ import annotations

import asyncio
import contextvars
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Generic, TypeVar

Item = TypeVar("Item")
Result = TypeVar("Result")


@dataclass
class _Waiting(Generic[Item, Result]):
    item: Item
    result: asyncio.Future[Result] = field(
        default_factory=lambda: asyncio.get_running_loop().create_future()
    )


class Batcher(Generic[Item, Result]):
    def __init__(
        self,
        run: Callable[[list[Item]], Awaitable[list[Result]]],
        *,
        window: float = 0.002,
        max_batch: int = 128,
    ) -> None:
        self.run = run
        self.window = window
        self.max_batch = max_batch
        self._waiting: list[_Waiting[Item, Result]] = []
        self._timer: asyncio.TimerHandle | None = None
        self._flushes: set[asyncio.Task[None]] = set()

    async def submit(self, item: Item) -> Result:
        waiting: _Waiting[Item, Result] = _Waiting(item)
        self._waiting.append(waiting)
        if len(self._waiting) >= self.max_batch:
            self.flush_now()
        elif self._timer is None:
            self._timer = asyncio.get_running_loop().call_later(self.window, self.flush_now)
        return await waiting.result

    async def close(self) -> None:
        """Run what is waiting now and wait for every batch under way."""
        self.flush_now()
        if self._flushes:
            await asyncio.gather(*self._flushes, return_exceptions=True)

    def flush_now(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        batch, self._waiting = self._waiting, []
        if batch:
            flush = asyncio.create_task(self._run(batch), context=contextvars.Context())
            self._flushes.add(flush)
            flush.add_done_callback(self._flushes.discard)
            # A flush cancelled (even before it began) or ended by anything but an Exception
            # answers nobody: their submitters are cancelled rather than left waiting.
            flush.add_done_callback(lambda _: _cancel_unanswered(batch))

    @property
    def flushes(self) -> set[asyncio.Task[None]]:
        return self._flushes

    async def _run(self, batch: list[_Waiting[Item, Result]]) -> None:
        try:
            results = await self.run([waiting.item for waiting in batch])
        except Exception as error:  # the batch failed: nobody is told their item is done
            for waiting in batch:
                if not waiting.result.done():
                    waiting.result.set_exception(error)
            return
        for waiting, result in zip(batch, results, strict=True):
            if not waiting.result.done():
                waiting.result.set_result(result)


def _cancel_unanswered(batch: list[_Waiting[Item, Result]]) -> None:
    for waiting in batch:
        waiting.result.cancel()  # no effect on an answered one
