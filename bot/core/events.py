"""The event registry: stored Slack events go from the worker to every subscriber, once.

Bolt verifies and parses a request at the front door, and the inbox stores the event. The worker
then hands the stored event here: its envelope is parsed once into a typed model, events the bot
caused itself are dropped by Bolt's own rule (its user id extraction, which also reads the
`message` of a `message_changed` and the `previous_message` of a `message_deleted`, and its list
of self events that are kept), and every subscriber of the event's type is called in turn. A
second pass through Bolt is not needed, and Bolt's first-match rule, which would let one
feature's listener shadow another's, does not apply.

Two kinds of subscriber:

- `on(type, subscriber)`: `subscriber(event, body)` makes effects outside the database (Slack
  calls) and must be idempotent: a failure is raised after the others ran, and the inbox
  retries the event, so the others run again;
- `record(type, writer)`: `writer(session, items)` only writes rows, in the session it is
  given: the transaction that completes the stored events. `items` are the `(event, body)`
  pairs of that type completing together, in the order they were stored, so a hot writer
  stores a batch in one statement. Its rows commit with the events' completion, so a crash or
  a retry never writes them twice.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any

from pydantic import BaseModel, ConfigDict
from slack_bolt.middleware.ignoring_self_events.ignoring_self_events import IgnoringSelfEvents
from slack_bolt.request.internals import extract_user_id
from sqlalchemy.ext.asyncio import AsyncSession

from bot.core.identity import Identity

log = logging.getLogger(__name__)

Subscriber = Callable[[dict[str, Any], dict[str, Any]], Awaitable[None]]
Stored = tuple[dict[str, Any], dict[str, Any]]  # (event, body)
Writer = Callable[[AsyncSession, list[Stored]], Awaitable[None]]
# Events that concern the bot's own user but still matter: Bolt's own list.
KEPT_SELF_EVENTS = frozenset(IgnoringSelfEvents.events_that_should_be_kept)


class SlackEvent(BaseModel):
    """The fields of an inner event that routing needs; the rest stays as Slack sent it."""

    model_config = ConfigDict(extra="allow", frozen=True)

    type: str
    subtype: str | None = None
    user: str | dict[str, Any] | None = None
    bot_id: str | None = None


class EventEnvelope(BaseModel):
    """Slack's `event_callback` envelope, as the inbox stored it."""

    model_config = ConfigDict(extra="allow", frozen=True)

    type: str
    event_id: str
    team_id: str | None = None
    event: SlackEvent


class EventBus:
    def __init__(self) -> None:
        self.subscribers: dict[str, list[Subscriber]] = {}
        self.writers: dict[str, list[Writer]] = {}

    def on(self, event_type: str, subscriber: Subscriber) -> None:
        """Call `subscriber(event, body)` for every `event_type` event."""
        self.subscribers.setdefault(event_type, []).append(subscriber)

    def subscribe(self, event_type: str) -> Callable[[Subscriber], Subscriber]:
        """Decorator form of `on`."""

        def decorate(subscriber: Subscriber) -> Subscriber:
            self.on(event_type, subscriber)
            return subscriber

        return decorate

    def record(self, event_type: str, writer: Writer) -> None:
        """Call `writer(session, [(event, body), ...])` for the `event_type` events completing
        together, in the transaction that completes them."""
        self.writers.setdefault(event_type, []).append(writer)

    def wants(self, body: dict[str, Any]) -> bool:
        """Whether anyone listens to this envelope's event (else it need not be stored)."""
        event = body.get("event")
        if not isinstance(event, dict):
            return False
        kind = event.get("type")
        return kind in self.subscribers or kind in self.writers

    async def dispatch(self, body: dict[str, Any], me: Identity) -> None:
        """Hand a stored envelope to its subscribers, unless the bot (`me`) caused it; raises
        the first failure after all ran."""
        event = EventEnvelope.model_validate(body).event
        if is_own(body, me):
            return
        raw = body["event"]
        failures: list[Exception] = []
        for subscriber in self.subscribers.get(event.type, ()):
            try:
                await subscriber(raw, body)
            except Exception as error:  # the others still get the event
                log.exception("%s subscriber %s failed", event.type, subscriber.__qualname__)
                failures.append(error)
        if failures:
            raise failures[0]

    async def write(
        self, session: AsyncSession, bodies: list[dict[str, Any]], me: Identity
    ) -> None:
        """Run the writers of the envelopes' events in `session`, skipping what the bot caused.
        A failure is raised at once: the caller rolls back every writer of the batch together.

        The inbox calls `dispatch` first, which has parsed and checked each envelope already.
        """
        by_type: dict[str, list[Stored]] = {}
        for body in bodies:
            if not is_own(body, me):
                by_type.setdefault(body["event"]["type"], []).append((body["event"], body))
        for event_type, items in by_type.items():
            for writer in self.writers.get(event_type, ()):
                await writer(session, items)


def is_own(body: dict[str, Any], me: Identity) -> bool:
    """Whether the bot caused this envelope's event, by the rule of Bolt's IgnoringSelfEvents."""
    event = body.get("event")
    if not isinstance(event, dict) or event.get("type") in KEPT_SELF_EVENTS:
        return False
    if extract_user_id(body) == me.user_id:
        return True
    return me.bot_id is not None and event.get("bot_id") == me.bot_id
