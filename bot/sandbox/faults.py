"""Injected failures: scripted ("fail the next N calls") or random at a given rate."""

from __future__ import annotations

import asyncio
import contextlib
import random as _random
from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass

RATELIMITED = "ratelimited"
SERVER_ERROR = "server_error"
TIMEOUT = "timeout"
SLOW = "slow"
TIMEOUT_AFTER_EFFECT = "timeout_after_effect"

TRANSPORT_KINDS = frozenset({RATELIMITED, SERVER_ERROR, TIMEOUT, SLOW, TIMEOUT_AFTER_EFFECT})
ANY_METHOD = "*"


@dataclass(frozen=True)
class Fault:
    """One planned failure. Any kind outside TRANSPORT_KINDS is a Slack error code."""

    kind: str
    retry_after: int = 1
    seconds: float | None = None
    status: int | None = None

    @property
    def is_error_code(self) -> bool:
        return self.kind not in TRANSPORT_KINDS

    @property
    def lets_effect_happen(self) -> bool:
        return self.kind in (SLOW, TIMEOUT_AFTER_EFFECT)


@dataclass
class _RandomPlan:
    rate: float
    kinds: tuple[str, ...]
    rng: _random.Random
    methods: frozenset[str] | None


class Faults:
    def __init__(self) -> None:
        # Long enough to outlast a test client configured with a ~1 s timeout
        self.timeout_seconds = 2.0
        self.slow_seconds = 0.5
        self._planned: dict[str, deque[Fault]] = {}
        self._random: _RandomPlan | None = None
        self._sleepers: set[asyncio.Future[None]] = set()

    def fail_next(
        self,
        method: str,
        kind: str,
        count: int = 1,
        *,
        retry_after: int = 1,
        seconds: float | None = None,
        status: int | None = None,
    ) -> None:
        """Make the next `count` calls to `method` (or "*" for any) fail with `kind`."""
        fault = Fault(kind=kind, retry_after=retry_after, seconds=seconds, status=status)
        self._planned.setdefault(method, deque()).extend([fault] * count)

    def random(
        self,
        rate: float = 0.3,
        kinds: Iterable[str] = (RATELIMITED, SERVER_ERROR, TIMEOUT),
        seed: int | None = None,
        methods: Iterable[str] | None = None,
    ) -> None:
        if not 0.0 <= rate <= 1.0:
            raise ValueError("rate must be between 0 and 1")
        chosen = frozenset(methods) if methods is not None else None
        self._random = _RandomPlan(rate, tuple(kinds), _random.Random(seed), chosen)

    def clear(self) -> None:
        self._planned.clear()
        self._random = None

    def pending(self, method: str | None = None) -> int:
        if method is None:
            return sum(len(q) for q in self._planned.values())
        return len(self._planned.get(method, ()))

    def take(self, method: str) -> Fault | None:
        """Consume the fault for this call, if any; scripted faults win over random ones."""
        for key in (method, ANY_METHOD):
            queue = self._planned.get(key)
            if queue:
                return queue.popleft()
        return self._roll(method)

    def _roll(self, method: str) -> Fault | None:
        plan = self._random
        if plan is None or not plan.kinds:
            return None
        if plan.methods is not None and method not in plan.methods:
            return None
        if plan.rng.random() >= plan.rate:
            return None
        return Fault(kind=plan.rng.choice(plan.kinds))

    def delay_for(self, fault: Fault) -> float:
        if fault.seconds is not None:
            return fault.seconds
        return self.slow_seconds if fault.kind == SLOW else self.timeout_seconds

    async def sleep(self, seconds: float) -> None:
        """Sleep, but return early when the sandbox shuts down so stop() never hangs.

        A bare future per sleeper (not a shared Event) keeps this usable from whichever
        event loop the state happens to be served on.
        """
        waiter: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._sleepers.add(waiter)
        try:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(waiter, timeout=seconds)
        finally:
            self._sleepers.discard(waiter)

    def wake_sleepers(self) -> None:
        for waiter in list(self._sleepers):
            if not waiter.done():
                waiter.set_result(None)
