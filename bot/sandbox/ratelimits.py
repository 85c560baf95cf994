"""Slack's published Web API rate limits, enforced with sliding windows.

Limits are per method per workspace, except chat.postMessage which Slack limits per
channel (about one message per second, tolerating short bursts).
"""

from __future__ import annotations

import math
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass

TIER_PER_MINUTE: dict[int, int] = {1: 1, 2: 20, 3: 50, 4: 100}


@dataclass(frozen=True)
class RateRule:
    limit: int
    period: float = 60.0
    per_channel: bool = False


def tier(n: int) -> RateRule:
    return RateRule(limit=TIER_PER_MINUTE[n])


# The single place to read or tweak; periods are in real seconds at window_seconds=60.
RATE_LIMITS: dict[str, RateRule] = {
    "auth.test": tier(4),  # documented as "special", generous
    "auth.teams.list": tier(2),
    "bots.info": tier(3),
    "team.info": tier(3),
    "chat.postMessage": RateRule(limit=3, period=3.0, per_channel=True),
    "chat.postEphemeral": tier(4),
    "chat.update": tier(3),
    "chat.delete": tier(3),
    "chat.getPermalink": tier(4),
    "chat.scheduleMessage": tier(3),
    "chat.deleteScheduledMessage": tier(3),
    "chat.scheduledMessages.list": tier(3),
    "conversations.archive": tier(2),
    "conversations.create": tier(2),
    "conversations.history": tier(3),
    "conversations.info": tier(3),
    "conversations.invite": tier(3),
    "conversations.join": tier(3),
    "conversations.kick": tier(3),
    "conversations.leave": tier(3),
    "conversations.list": tier(2),
    "conversations.members": tier(4),
    "conversations.open": tier(3),
    "conversations.rename": tier(2),
    "conversations.replies": tier(3),
    "conversations.setPurpose": tier(2),
    "conversations.setTopic": tier(2),
    "conversations.unarchive": tier(2),
    "files.completeUploadExternal": tier(4),
    "files.getUploadURLExternal": tier(4),
    "files.info": tier(4),
    "pins.add": tier(2),
    "pins.list": tier(2),
    "pins.remove": tier(2),
    "reactions.add": tier(3),
    "reactions.get": tier(3),
    "reactions.remove": tier(2),
    "usergroups.list": tier(2),
    "usergroups.users.list": tier(2),
    "users.getPresence": tier(3),
    "users.info": tier(4),
    "users.list": tier(2),
    "users.lookupByEmail": tier(3),
    "users.profile.get": tier(4),
    "views.open": tier(4),
    "views.publish": tier(4),
    "views.push": tier(4),
    "views.update": tier(4),
}
DEFAULT_RULE = tier(3)


class RateLimits:
    """Off by default; `enabled = True` turns enforcement on.

    `window_seconds` rescales every period (60 means real time), so a test can set it
    to e.g. 0.6 and exhaust a Tier 2 budget without waiting a minute.
    """

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self.enabled = False
        self.window_seconds = 60.0
        self.rules: dict[str, RateRule] = dict(RATE_LIMITS)
        self.default_rule = DEFAULT_RULE
        self._clock = clock
        self._hits: dict[tuple[str, str], deque[float]] = {}

    def rule_for(self, method: str) -> RateRule:
        return self.rules.get(method, self.default_rule)

    def check(self, method: str, channel: str = "") -> int | None:
        """Count this call, or return Retry-After seconds if it must be refused."""
        if not self.enabled:
            return None
        rule = self.rule_for(method)
        key = (method, channel if rule.per_channel else "")
        period = rule.period * self.window_seconds / 60.0
        now = self._clock()
        hits = self._hits.setdefault(key, deque())
        while hits and hits[0] <= now - period:
            hits.popleft()
        if len(hits) >= rule.limit:
            return max(1, math.ceil(hits[0] + period - now))
        hits.append(now)
        return None

    def reset(self) -> None:
        self._hits.clear()
