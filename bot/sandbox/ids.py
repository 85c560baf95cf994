"""Slack-shaped identifiers and message timestamps."""

from __future__ import annotations

import secrets
import string
import time
from collections.abc import Callable

_B36 = string.digits + string.ascii_uppercase


def base36(n: int) -> str:
    if n == 0:
        return "0"
    digits: list[str] = []
    while n:
        n, rem = divmod(n, 36)
        digits.append(_B36[rem])
    return "".join(reversed(digits))


class IdFactory:
    """Sequential ids so transcripts and failures are reproducible across runs."""

    def __init__(self) -> None:
        self._counter = 0
        self._issued: set[str] = set()

    def new(self, prefix: str) -> str:
        while True:
            self._counter += 1
            candidate = f"{prefix}0{base36(self._counter).rjust(8, '0')}"
            if candidate not in self._issued:
                self._issued.add(candidate)
                return candidate

    def reserve(self, value: str) -> None:
        self._issued.add(value)


class TsClock:
    """Issues Slack `ts` values: `seconds.micros`, strictly increasing workspace-wide.

    Slack uses `ts` as the message primary key, so two messages posted within the same
    microsecond must still get distinct values; a counter on top of wall time does that.
    """

    def __init__(self, clock: Callable[[], float] = time.time) -> None:
        self._clock = clock
        self._last_us = 0

    def next(self) -> str:
        now_us = int(self._clock() * 1_000_000)
        self._last_us = max(now_us, self._last_us + 1)
        return format_ts(self._last_us)


def format_ts(micros: int) -> str:
    seconds, fraction = divmod(micros, 1_000_000)
    return f"{seconds}.{fraction:06d}"


def ts_to_float(ts: str) -> float:
    try:
        return float(ts)
    except (TypeError, ValueError):
        return 0.0


def random_hex(nbytes: int = 16) -> str:
    return secrets.token_hex(nbytes)


def ts_micros(ts: str) -> int:
    """Exact ordering key for a `ts` (floats lose the last microsecond digits)."""
    seconds, _, fraction = ts.strip().partition(".")
    try:
        return int(seconds or 0) * 1_000_000 + int((fraction or "0")[:6].ljust(6, "0"))
    except ValueError:
        return 0
