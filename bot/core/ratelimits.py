"""Client-side pacing within Slack's published Web API rate limits.

Slack allows chat.postMessage about once per second per channel, and most other methods a number
of calls per minute per workspace (tiers). Spacing our own calls keeps us clear of 429s; when one
arrives anyway, `Retry-After` pauses that method.

`Pacer` keeps its buckets in the process: right for SQLite, where the bot is one process.
On PostgreSQL every replica spends the same workspace budget, so `bot.core.ratebudget` keeps
the same buckets in a table (`make_pacer` picks one by the engine's dialect).
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field

from bot.core import workspaces

TIER_PER_MINUTE = {1: 1, 2: 20, 3: 50, 4: 100}

METHOD_TIERS: dict[str, int] = {
    "chat.update": 3,
    "chat.delete": 3,
    "conversations.history": 3,
    "conversations.replies": 3,
    "conversations.open": 3,
    "pins.add": 2,
    "reactions.add": 3,
    "views.publish": 4,
    "files.getUploadURLExternal": 4,
    "files.completeUploadExternal": 4,
}
# Slack's most common tier, for a method not listed above.
DEFAULT_TIER = 3
# Slightly under 1/s: a sliding window must never see one call too many at its edges.
PER_CHANNEL_PER_SECOND = {"chat.postMessage": 0.9}


@dataclass(frozen=True)
class Rule:
    """One budget a call spends from: `method` per workspace (scope: its team, "" in
    single-token mode) or per channel (scope: the channel; channel ids are unique in Slack)."""

    method: str
    scope: str
    rate: float  # tokens per second
    burst: float


def workspace_scope(per_workspace: bool) -> str:
    """The scope of a method's budget: the team of the workspace the work is within, when
    each workspace has its own (OAuth mode: Slack's limits are per app per workspace)."""
    workspace = workspaces.current() if per_workspace else None
    return workspace.team_id if workspace is not None else ""


def rules_for(method: str, channel: str | None, speedup: float = 1.0, team: str = "") -> list[Rule]:
    """The budgets a call to `method` (in `channel`, in workspace `team`) spends one token
    from."""
    if method in PER_CHANNEL_PER_SECOND:
        if not channel:
            return []
        return [Rule(method, channel, PER_CHANNEL_PER_SECOND[method] * speedup, burst=1)]
    # Burst plus refill over one minute stays within the tier's per-minute limit.
    limit = TIER_PER_MINUTE[METHOD_TIERS.get(method, DEFAULT_TIER)]
    burst = max(1, limit // 10)
    return [Rule(method, team, (limit - burst) / 60 * speedup, burst=burst)]


@dataclass
class Bucket:
    rate: float  # tokens per second
    burst: float
    tokens: float = field(default=-1.0)
    updated: float = field(default_factory=time.monotonic)
    blocked_until: float = 0.0

    def __post_init__(self) -> None:
        if self.tokens < 0:
            self.tokens = self.burst

    def wait_time(self, now: float) -> float:
        self.tokens = min(self.burst, self.tokens + (now - self.updated) * self.rate)
        self.updated = now
        if now < self.blocked_until:
            return self.blocked_until - now
        return 0.0 if self.tokens >= 1 else (1 - self.tokens) / self.rate


class Pacer:
    """Token buckets in this process: one replica's calls stay within Slack's limits."""

    def __init__(self, speedup: float = 1.0, *, per_workspace: bool = False) -> None:
        self.speedup = speedup
        self.per_workspace = per_workspace
        self._buckets: dict[tuple[str, str], Bucket] = {}
        self._lock = asyncio.Lock()

    def rules(self, method: str, channel: str | None) -> list[Rule]:
        return rules_for(method, channel, self.speedup, workspace_scope(self.per_workspace))

    def _bucket(self, method: str, channel: str | None) -> list[Bucket]:
        rules = self.rules(method, channel)
        unpaced = (method, workspace_scope(self.per_workspace))
        if not rules and unpaced in self._buckets:  # paused by a 429, though unpaced
            return [self._buckets[unpaced]]
        return [self._get((rule.method, rule.scope), rule.rate, rule.burst) for rule in rules]

    def _get(self, key: tuple[str, str], rate: float, burst: float) -> Bucket:
        if key not in self._buckets:
            self._buckets[key] = Bucket(rate=rate, burst=burst)
        return self._buckets[key]

    async def acquire(self, method: str, channel: str | None = None) -> None:
        """Wait until a call to `method` (in `channel`) stays within the limits, then spend it."""
        while True:
            async with self._lock:
                now = time.monotonic()
                buckets = self._bucket(method, channel)
                wait = max((bucket.wait_time(now) for bucket in buckets), default=0.0)
                if wait <= 0:
                    for bucket in buckets:
                        bucket.tokens -= 1
                    return
            await asyncio.sleep(wait)

    def pause(self, method: str, channel: str | None, retry_after: float) -> None:
        """Slack said 429: nobody here calls that method again before Retry-After."""
        until = time.monotonic() + retry_after
        unpaced = (method, workspace_scope(self.per_workspace))
        for bucket in self._bucket(method, channel) or [self._get(unpaced, 1.0, 1.0)]:
            bucket.blocked_until = max(bucket.blocked_until, until)
