"""Event fan-out: every feature that cares about an event type gets it.

Bolt runs only the first listener that matches a request, so two features listening to
`message` or `reaction_added` would shadow each other. Features subscribe here instead; one
Bolt listener per event type calls each subscriber in turn. Events reach it from the durable
inbox, so a failure is retried: subscribers must be idempotent (they are, by unique rows).
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any

from slack_bolt.app.async_app import AsyncApp

log = logging.getLogger(__name__)

Subscriber = Callable[[dict[str, Any], dict[str, Any]], Awaitable[None]]


class EventBus:
    def __init__(self, bolt: AsyncApp) -> None:
        self.bolt = bolt
        self.subscribers: dict[str, list[Subscriber]] = {}

    def on(self, event_type: str, subscriber: Subscriber) -> None:
        """Call `subscriber(event, body)` for every `event_type` event."""
        if event_type not in self.subscribers:
            self.subscribers[event_type] = []
            self.bolt.event(event_type)(self._dispatcher(event_type))
        self.subscribers[event_type].append(subscriber)

    def subscribe(self, event_type: str) -> Callable[[Subscriber], Subscriber]:
        """Decorator form of `on`."""

        def decorate(subscriber: Subscriber) -> Subscriber:
            self.on(event_type, subscriber)
            return subscriber

        return decorate

    def _dispatcher(self, event_type: str) -> Callable[..., Awaitable[None]]:
        async def dispatch(event: dict[str, Any], body: dict[str, Any]) -> None:
            failures: list[BaseException] = []
            for subscriber in self.subscribers[event_type]:
                try:
                    await subscriber(event, body)
                except Exception as error:  # the others still get the event
                    log.exception("%s subscriber %s failed", event_type, subscriber.__qualname__)
                    failures.append(error)
            if failures:
                raise failures[0]

        dispatch.__name__ = f"dispatch_{event_type}"
        return dispatch
