"""Keeping a test worker's heap flat across hundreds of bots.

FastAPI classifies each endpoint callable once and keeps the answer in module-level LRU caches
of 4,096 entries (`fastapi.dependencies.models._is_*_cached`), keyed by the callable itself.
opsbot's routes are closures over their runtime, so every bot a worker ever started stayed
reachable from there: its engine, its compiled-statement cache, its sandbox client. A worker's
heap grew by about 10,000 objects a test, and past 800 tests a full collection paused the event
loop for seconds, longer than Slack waits for an answer. A deployment builds one app, so only
the tests need this.
"""

from __future__ import annotations

import gc
from collections.abc import Callable
from typing import Any

import fastapi.dependencies.models as fastapi_dependencies
from sqlalchemy import event
from sqlalchemy.pool import Pool


def _callable_caches() -> list[Callable[[], Any]]:
    return [
        cached.cache_clear
        for name, cached in vars(fastapi_dependencies).items()
        if name.endswith("_cached") and hasattr(cached, "cache_clear")
    ]


def release_framework_caches() -> None:
    """Forget the endpoints of the apps built so far."""
    for clear in _callable_caches():
        clear()


def collect_finished_bots() -> None:
    """Collect a finished test's garbage now, while no event loop runs.

    A database connection a stopped bot never checked back in is closed by SQLAlchemy when it
    is collected. Collected later, during another test, its close is a task on that test's
    loop, waiting for a driver thread that has long stopped: the loop never closes. Collected
    here, with no loop running, it is closed at once (aiosqlite's `stop`)."""
    release_framework_caches()
    global _connected
    if _connected:  # only a test that opened a database connection can leave one behind
        _connected = False
        gc.collect()


_connected = False


@event.listens_for(Pool, "connect")
def _noted(*_: Any) -> None:
    global _connected
    _connected = True
