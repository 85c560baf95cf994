"""The Slack event inbox: events are stored at the acknowledgement and replayed by a worker.

`install` puts two middlewares on the Bolt app and registers the replay task:

- interactive payloads (commands, buttons, forms) are redacted before any listener sees them;
- an `event_callback` somebody subscribes to is redacted, its `event_id` claimed in the dedupe
  ledger and the event stored as a task, committed before Slack hears "200". A redelivery
  (X-Slack-Retry-Num) finds the ledger row and changes nothing. When the store fails the answer
  is a 503 that names nothing, and Slack delivers the event again;
- the worker hands a stored event to the event registry once the bot knows who it is, so the
  bot's own events can be told apart; until then the task waits (`NotReady`). Subscribers with
  Slack effects run first; the writers' rows then commit in the transaction that marks the
  event done (events completing together are written together), so they are written once
  however often the event is retried.

Group commit at the acknowledgement: events arriving together share one transaction. Committing
each alone makes the commit the cost of an event. Here an event waits at most `window` seconds
(2 ms) for others; then one transaction claims all their ids in one statement, stores the new
ones in one statement and commits, and every waiting request is answered. Durability is
unchanged: nobody is answered before the commit that holds their event, and a failed commit
fails every request in it (Slack retries).
"""

from __future__ import annotations

import json
import logging
from typing import Any

from slack_bolt.app.async_app import AsyncApp
from slack_bolt.request.async_request import AsyncBoltRequest
from slack_bolt.response import BoltResponse
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.core import ledger, tasks, workspaces
from bot.core.batching import Batcher
from bot.core.db import transaction
from bot.core.events import EventBus
from bot.core.identity import BotIdentity
from bot.core.metrics import Metrics
from bot.core.projector import NotReady
from bot.core.redaction import redact_payload

log = logging.getLogger(__name__)

SLACK_EVENT_TASK = "slack.event"
# What Slack (and whoever reads its delivery log) hears when an event could not be stored: no
# exception text, which could name the database host.
NOT_STORED = json.dumps({"ok": False, "error": "the event could not be stored; deliver it again"})


def install(
    bolt: AsyncApp,
    sessions: async_sessionmaker[AsyncSession],
    events: EventBus,
    runner: tasks.TaskRunner,
    identity: BotIdentity,
    metrics: Metrics,
    to_bolt: frozenset[str] = frozenset(),
) -> GroupCommit:
    """Wire the inbox into `bolt` and `runner`; the returned GroupCommit is closed at stop.

    Events of the types in `to_bolt` are not stored: they go on to Bolt's own listeners (OAuth
    mode's token revocation), which finish before Slack is answered.
    """
    commits = GroupCommit(sessions, "slack", SLACK_EVENT_TASK, metrics)

    async def redact_interactions(
        req: AsyncBoltRequest, resp: BoltResponse, next: Any
    ) -> BoltResponse | None:
        # Commands, buttons and forms write what people typed: listeners only see it redacted.
        if req.body.get("type") != "event_callback":
            req.body = redact_payload(req.body)
        response: BoltResponse | None = await next()
        return response

    async def store_event(
        req: AsyncBoltRequest, resp: BoltResponse, next: Any
    ) -> BoltResponse | None:
        body = req.body
        if body.get("type") != "event_callback" or _event_type(body) in to_bolt:
            passed: BoltResponse | None = await next()
            return passed
        event_id = str(body.get("event_id") or "")
        if not event_id:
            return BoltResponse(status=400, body='{"error": "event_callback without event_id"}')
        if not events.wants(body):
            return BoltResponse(status=200, body="")  # nobody listens: nothing to keep
        try:
            # Redacted before it is stored: the raw event never reaches the database. Stored
            # with the events arriving at the same moment, in one transaction, before the answer.
            await commits.store(event_id, redact_payload(body))
        except Exception:
            log.exception(
                "inbox: event %s could not be stored; Slack will deliver it again", event_id
            )
            return BoltResponse(
                status=503, body=NOT_STORED, headers={"content-type": ["application/json"]}
            )
        return BoltResponse(status=200, body="")

    async def replay(payload: dict[str, Any]) -> None:
        # Telling the bot's own events apart depends on knowing who the bot is.
        me = await identity.current()
        if me is None:
            raise NotReady("the bot's identity (auth.test) is not known yet")
        await events.dispatch(payload, me)

    async def write(session: AsyncSession, payloads: list[dict[str, Any]]) -> None:
        me = identity.known
        if me is None:  # replay, which runs first, has learnt it
            raise NotReady("the bot's identity (auth.test) is not known yet")
        await events.write(session, payloads, me)

    bolt.use(redact_interactions)
    bolt.use(store_event)
    # The subscribers' Slack effects first; their rows then commit with the event's completion.
    runner.register(SLACK_EVENT_TASK, replay, writer=write)
    return commits


def _event_type(body: dict[str, Any]) -> Any:
    event = body.get("event")
    return event.get("type") if isinstance(event, dict) else None


class GroupCommit:
    """Events claimed in the ledger and stored as tasks, a batch to a transaction."""

    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        source: str,
        kind: str,
        metrics: Metrics,
        *,
        window: float = 0.002,
        max_batch: int = 128,
    ) -> None:
        self.sessions = sessions
        self.source = source
        self.kind = kind
        # Transactions committed: fewer than events when they arrive together.
        self._committed = metrics.inbox_commits.labels(source)
        self.batches: Batcher[tuple[str, dict[str, Any]], bool] = Batcher(
            self._commit, window=window, max_batch=max_batch
        )

    async def store(self, key: str, payload: dict[str, Any]) -> bool:
        """Claim `key` and store `payload` as a task, durably; False when `key` was seen before.

        The ledger keeps `ledger.MAX_KEY` characters of a key, so that is what counts.
        """
        return await self.batches.submit((key[: ledger.MAX_KEY], payload))

    async def close(self) -> None:
        """Commit what is waiting now and wait for every commit under way."""
        await self.batches.close()

    async def _commit(self, batch: list[tuple[str, dict[str, Any]]]) -> list[bool]:
        # A redelivery may arrive in the same batch as its original: only the first one counts.
        first: dict[str, int] = {}
        for index, (key, _payload) in enumerate(batch):
            first.setdefault(key, index)
        async with transaction(self.sessions) as session:
            fresh = await ledger.claim_many(session, self.source, list(first))
            new = [index for key, index in first.items() if key in fresh]
            payloads = [batch[index][1] for index in new]
            # Each event is replayed within the workspace Slack delivered it for.
            await tasks.enqueue_many(
                session, self.kind, payloads, [workspaces.of_body(body) for body in payloads]
            )
        self._committed.inc()
        stored = set(new)
        return [index in stored for index in range(len(batch))]
