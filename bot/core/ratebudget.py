"""Slack's rate budget shared by every replica: token buckets in a PostgreSQL table.

Slack's limits are per app per workspace, so N replicas pacing themselves would spend N times
the budget. Here each bucket of `bot.core.ratelimits` is a row of `slack_rate_budget`, and a
call takes its token in one atomic statement (INSERT ... ON CONFLICT DO UPDATE ... RETURNING):

    start  = greatest(now, updated_at, paused_until)
    tokens = least(capacity, tokens + rate * (start - updated_at)) - 1,  updated_at = start

and waits `start - now + max(0, -tokens) / rate` seconds before calling (`now` is the database's
clock_timestamp(), so the replicas' clocks do not matter). Tokens may go below zero: each caller
reserves the next slot and sleeps until it, so a row is locked for one statement only, there is
no retry loop, and the callers of all replicas together never exceed `rate` per second after a
burst of `capacity`. A 429 sets `paused_until` to now + Retry-After and empties the bucket at
that moment: every replica's next call waits for it. Calls already waiting in another replica
when the 429 arrives cannot be told; this replica's own waiting calls check its pauses again.

SQLite keeps `Pacer` in the process: SQLite has one writer, and the bot on it is one process
(one pod, `Recreate`), so there is no other replica to share with. The table exists there too,
empty, so the schema is the same on both stores.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import functools
import logging
import time
from typing import Any

from sqlalchemy import Float, String, TextClause, and_, delete, or_, text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker
from sqlalchemy.orm import Mapped, mapped_column

from bot.core.db import Base, UTCDateTime, affected, transaction
from bot.core.ratelimits import Pacer, Rule, workspace_scope

log = logging.getLogger(__name__)


class RateBudget(Base):
    """One bucket of the workspace's Web API budget: a method's, or a method's in one channel."""

    __tablename__ = "slack_rate_budget"

    method: Mapped[str] = mapped_column(String(64), primary_key=True)
    # "", a channel, a team, or team/channel
    scope: Mapped[str] = mapped_column(String(64), primary_key=True)
    capacity: Mapped[float] = mapped_column(Float)  # the burst
    rate: Mapped[float] = mapped_column(Float)  # tokens per second
    tokens: Mapped[float] = mapped_column(Float)  # as of updated_at; below zero when reserved
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    paused_until: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)


async def prune(sessions: async_sessionmaker[AsyncSession], cutoff: dt.datetime) -> int:
    """Forget buckets untouched since `cutoff` (a channel the bot no longer posts in). Such a
    bucket has long refilled: a new row for it starts just as full."""
    idle = and_(
        RateBudget.updated_at < cutoff,
        or_(RateBudget.paused_until.is_(None), RateBudget.paused_until < cutoff),
    )
    async with transaction(sessions) as session:  # a row per method and channel: a few
        return affected(await session.execute(delete(RateBudget).where(idle)))


# Every statement is one round trip. Plain SQL, compiled once: building and compiling the
# statement with SQLAlchemy's expression language cost 5 ms of CPU per call.
_START = "greatest(clock_timestamp(), b.updated_at, b.paused_until)"  # greatest() skips NULLs
_TAKE_SET = f"""
ON CONFLICT (method, scope) DO UPDATE SET
    capacity = excluded.capacity,
    rate = excluded.rate,
    tokens = least(
        excluded.capacity,
        b.tokens + excluded.rate * extract(epoch FROM {_START} - b.updated_at)::float8
    ) - 1,
    updated_at = {_START}
RETURNING greatest(0, extract(epoch FROM b.updated_at - clock_timestamp())::float8)
    + greatest(0, -b.tokens) / b.rate
"""
_PAUSE = text(
    """
INSERT INTO slack_rate_budget AS b (method, scope, capacity, rate, tokens, updated_at,
                                    paused_until)
VALUES (:method, :scope, :capacity, :rate, 0,
        clock_timestamp() + make_interval(secs => :retry_after),
        clock_timestamp() + make_interval(secs => :retry_after))
ON CONFLICT (method, scope) DO UPDATE SET
    tokens = least(
        excluded.capacity,
        b.tokens + excluded.rate
            * extract(epoch FROM greatest(clock_timestamp(), b.updated_at) - b.updated_at)::float8,
        0
    ),
    paused_until = greatest(b.paused_until, excluded.paused_until),
    updated_at = greatest(b.paused_until, excluded.paused_until, clock_timestamp(), b.updated_at)
"""
)


@functools.cache
def _take_statement(buckets: int) -> TextClause:
    """Take one token from each of `buckets` buckets (rows inserted full, less that token);
    RETURNING, for each, how many seconds until the token is due."""
    rows = ", ".join(
        f"(:method{n}, :scope{n}, :capacity{n}, :rate{n}, :tokens{n}, clock_timestamp())"
        for n in range(buckets)
    )
    return text(
        "INSERT INTO slack_rate_budget AS b (method, scope, capacity, rate, tokens, updated_at)"
        f" VALUES {rows}{_TAKE_SET}"
    )


def _take_parameters(rules: list[Rule]) -> dict[str, Any]:
    parameters: dict[str, Any] = {}
    for n, rule in enumerate(rules):
        parameters |= {
            f"method{n}": rule.method,
            f"scope{n}": rule.scope,
            f"capacity{n}": float(rule.burst),
            f"rate{n}": float(rule.rate),
            f"tokens{n}": float(rule.burst - 1),
        }
    return parameters


class SharedPacer(Pacer):
    """`Pacer` whose buckets are rows in PostgreSQL, so every replica spends one budget.

    `acquire` costs one statement on a pooled connection in autocommit (no BEGIN/COMMIT;
    the pool's pre-ping on checkout is the only other round trip): 1.2 to 1.5 ms on loopback,
    about 1 ms of it CPU. `pause` is called from synchronous code, so it applies here at once
    and writes the row in the background.
    """

    def __init__(
        self, engine: AsyncEngine, speedup: float = 1.0, *, per_workspace: bool = False
    ) -> None:
        super().__init__(speedup, per_workspace=per_workspace)
        self.engine = engine.execution_options(isolation_level="AUTOCOMMIT")
        self._paused: dict[tuple[str, str], float] = {}  # this replica's pauses, monotonic
        self._writes: set[asyncio.Task[None]] = set()

    async def acquire(self, method: str, channel: str | None = None) -> None:
        """Reserve the next slot of every budget the call spends from, then wait for it."""
        rules = sorted(
            self.rules(method, channel), key=lambda rule: (rule.method, rule.scope)
        )  # one lock order for every replica
        waits: list[float] = []
        if rules:
            async with self.engine.connect() as connection:
                statement = _take_statement(len(rules))
                result = await connection.execute(statement, _take_parameters(rules))
                waits = [float(wait) for wait in result.scalars()]
        deadline = time.monotonic() + max(waits, default=0.0)
        keys = [(rule.method, rule.scope) for rule in rules] or [
            (method, workspace_scope(self.per_workspace))
        ]
        while True:
            # A 429 this replica heard, before or while we wait, holds us too.
            now = time.monotonic()
            wait = max(deadline - now, *(self._paused.get(key, 0.0) - now for key in keys))
            if wait <= 0:
                return
            await asyncio.sleep(wait)

    def pause(self, method: str, channel: str | None, retry_after: float) -> None:
        """Slack said 429: no replica calls that method (in that channel) before Retry-After."""
        until = time.monotonic() + retry_after
        unpaced = Rule(method, workspace_scope(self.per_workspace), 1.0, 1.0)
        for rule in self.rules(method, channel) or [unpaced]:
            key = (rule.method, rule.scope)
            self._paused[key] = max(self._paused.get(key, 0.0), until)
            task = asyncio.get_running_loop().create_task(self._pause(rule, retry_after))
            self._writes.add(task)
            task.add_done_callback(self._writes.discard)

    async def _pause(self, rule: Rule, retry_after: float) -> None:
        try:
            async with self.engine.connect() as connection:
                await connection.execute(
                    _PAUSE,
                    {
                        "method": rule.method,
                        "scope": rule.scope,
                        "capacity": float(rule.burst),
                        "rate": float(rule.rate),
                        "retry_after": float(retry_after),
                    },
                )
        except Exception:
            log.exception("rate budget: the pause of %s could not be shared", rule.method)

    async def flush(self) -> None:
        """Wait until the pauses asked for so far are written."""
        await asyncio.gather(*self._writes)


def make_pacer(engine: AsyncEngine, speedup: float = 1.0, *, per_workspace: bool = False) -> Pacer:
    """The shared budget on PostgreSQL; on SQLite, one process's own. `per_workspace`: each
    workspace has budgets of its own (OAuth mode)."""
    if engine.dialect.name == "postgresql":
        return SharedPacer(engine, speedup, per_workspace=per_workspace)
    return Pacer(speedup, per_workspace=per_workspace)
