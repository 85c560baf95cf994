"""Waking the other replicas: a commit that made work tells them at once (PostgreSQL).

In one process, a commit wakes the loops through `db.on_commit`. Across replicas, the same
commit carries `pg_notify('opsbot_wake', '<flags>')` inside its transaction: PostgreSQL
delivers it at commit and drops it on rollback. Each replica LISTENs on one dedicated connection
and wakes the loops whose flags it names. SQLite is one process's store: nothing to send.
Polling stays as the safety net; a listener that lost its connection reconnects and wakes every
loop once, since it may have missed a notification meanwhile.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Mapping
from typing import Any

from sqlalchemy import event, text
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlalchemy.orm import Session

from bot.core.worker import register_wake_flag, wake_flags

log = logging.getLogger(__name__)

CHANNEL = "opsbot_wake"
KEEPALIVE_SECONDS = 10.0
RECONNECT_SECONDS = 1.0


@event.listens_for(Session, "before_commit")
def _notify_other_replicas(session: Session) -> None:
    if session.get_bind().dialect.name != "postgresql":
        return
    if session.new or session.dirty or session.deleted:
        # The commit's own flush comes after this hook; the rows it writes may wake a loop
        # (a watched row marks its views dirty in that flush), so it happens now.
        session.flush()
    flags = sorted(flag for flag in wake_flags() if session.info.get(flag))
    if not flags:
        return
    session.execute(
        text("SELECT pg_notify(:channel, :flags)"), {"channel": CHANNEL, "flags": ",".join(flags)}
    )


class WakeListener:
    """Listens for other replicas' commits and wakes this replica's loop for each flag."""

    def __init__(self, engine: AsyncEngine, wakers: Mapping[str, Callable[[], None]]) -> None:
        self.engine = engine
        self.wakers = dict(wakers)
        for flag in self.wakers:  # what this replica listens for, its commits also announce
            register_wake_flag(flag)
        self._loop: asyncio.Task[None] | None = None
        self.listening = asyncio.Event()  # set while a connection is listening

    def start(self) -> None:
        if self.engine.dialect.name == "postgresql":
            self._loop = asyncio.create_task(self._listen(), name="wake-listener")

    async def stop(self) -> None:
        if self._loop is not None:
            self._loop.cancel()
            await asyncio.gather(self._loop, return_exceptions=True)
            self._loop = None

    def _on_notify(self, _connection: Any, _pid: int, _channel: str, payload: str) -> None:
        for flag in payload.split(","):
            wake = self.wakers.get(flag)
            if wake is not None:
                wake()

    async def _listen(self) -> None:
        while True:
            try:
                async with self.engine.connect() as connection:
                    raw = await connection.get_raw_connection()
                    driver: Any = raw.driver_connection
                    await driver.add_listener(CHANNEL, self._on_notify)
                    self.listening.set()
                    for wake in self.wakers.values():
                        wake()  # whatever was sent while nobody listened
                    try:
                        while True:  # a query now and then notices a connection that died
                            await asyncio.sleep(KEEPALIVE_SECONDS)
                            await driver.execute("SELECT 1")
                    finally:
                        # The connection goes back to the pool: it must not keep listening.
                        with contextlib.suppress(Exception):
                            await driver.remove_listener(CHANNEL, self._on_notify)
            except Exception as error:
                log.warning("wakeups: listening for other replicas failed: %r", error)
            finally:
                self.listening.clear()
            await asyncio.sleep(RECONNECT_SECONDS)
