"""The projector's worker loop: lease dirty views, render the latest state, sync it to Slack."""

from __future__ import annotations

import asyncio
import datetime as dt
import hashlib
import json
import logging
from collections.abc import Sequence, Set
from contextvars import ContextVar
from typing import Any

from slack_sdk.errors import SlackApiError
from slack_sdk.models.blocks import Block
from slack_sdk.web.async_client import AsyncWebClient
from sqlalchemy import func, select, text, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.core import logs, workspaces
from bot.core.db import transaction, utcnow
from bot.core.leases import backoff_seconds
from bot.core.metrics import Metrics
from bot.core.projector import (
    DIRTY,
    METADATA_EVENT,
    PERMANENT_ERRORS,
    WAKE_FLAG,
    HomeView,
    Loader,
    NotReady,
    Projection,
    Registration,
    Rendered,
    View,
    mark_dirty_now,
)
from bot.core.ratelimits import Pacer
from bot.core.watches import Watch, Watches
from bot.core.worker import LeasedWorker, Queue
from bot.core.workspaces import within

log = logging.getLogger(__name__)
# A call whose budget this sync took before drawing (each sync runs in its own asyncio task).
_PREPAID: ContextVar[tuple[str, str] | None] = ContextVar("projector_prepaid", default=None)


class Retry(Exception):
    def __init__(self, delay: float, error: str, counts: bool = True) -> None:
        super().__init__(error)
        self.delay = delay
        self.error = error
        self.counts = counts


class Parked(Exception):
    """Slack refused for good (e.g. channel_not_found); retrying would only repeat it."""


def _blocks_json(blocks: Any) -> list[dict[str, Any]]:
    return [b.to_dict() if isinstance(b, Block) else b for b in blocks]


def content_hash(rendered: Rendered | HomeView | None) -> str | None:
    """A digest of what a view sends to Slack; None for a view that is taken down."""
    if rendered is None:
        return None
    if isinstance(rendered, HomeView):
        content: Any = rendered.view
    else:
        content = [rendered.channel, rendered.text, _blocks_json(rendered.blocks), rendered.pin]
    encoded = json.dumps(content, sort_keys=True, default=str).encode()
    return hashlib.sha256(encoded).hexdigest()


def _shown(row: Projection, rendered: Rendered | HomeView) -> bool:
    """Whether Slack has the view at all: a posted message, or a published home."""
    return row.channel is not None if isinstance(rendered, HomeView) else row.ts is not None


class Projector:
    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        client: AsyncWebClient,
        owner: str,
        metrics: Metrics,
        *,
        pacer: Pacer | None = None,
        concurrency: int = 4,
        lease_seconds: float = 30.0,
        sweep_seconds: float = 5.0,
        backoff_base: float = 1.0,
    ) -> None:
        self.sessions = sessions
        self.client = client
        self.owner = owner
        self.metrics = metrics
        self.pacer = pacer or Pacer()
        self.lease_seconds = lease_seconds
        self.sweep_seconds = sweep_seconds
        self.backoff_base = backoff_base
        self.views: dict[str, Registration] = {}
        self.watches = Watches(mark_dirty_now, WAKE_FLAG)
        self.watches.install(sessions)
        self.worker = LeasedWorker(
            "projector",
            sessions,
            Queue(
                model=Projection,
                due=self._dirty_filter,
                # New cards first: being seen at all matters more than the next refresh.
                order=(Projection.ts.is_not(None), Projection.updated_at, Projection.id),
                wake_flag=WAKE_FLAG,
            ),
            owner,
            self.sync,
            concurrency=concurrency,
            lease_seconds=lease_seconds,
            sweep_seconds=sweep_seconds,
        )

    def register(
        self, kind: str, load: Loader, view: View, *, watches: Sequence[Watch] = ()
    ) -> None:
        """Project records of `kind`: `load` reads one, `view` draws it, and a change to any
        row a watch covers marks the records it names dirty."""
        self.views[kind] = Registration(load=load, view=view)
        self.watches.add(kind, watches)

    def wake(self) -> None:
        self.worker.wake()

    def running(self) -> bool:
        """Whether the sync loop is up."""
        return self.worker.running()

    def start(self) -> None:
        self.worker.start()

    async def stop(self, grace: float = 0.0) -> None:
        await self.worker.stop(grace)

    @staticmethod
    def _dirty_filter(now: dt.datetime) -> list[Any]:
        return [
            # The partial index's own predicate, word for word, so both stores use the index.
            text(DIRTY),
            (Projection.next_attempt_at.is_(None)) | (Projection.next_attempt_at <= now),
        ]

    async def pending_count(self) -> int:
        async with self.sessions() as session:
            return int(
                await session.scalar(select(func.count(Projection.id)).where(text(DIRTY))) or 0
            )

    async def drain(self, timeout: float = 10.0) -> None:
        """Wait until every active view is in sync (tests and the demo use this)."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while loop.time() < deadline:
            if not self.worker.active and await self.pending_count() == 0:
                return
            self.wake()
            await asyncio.sleep(0.02)
        raise TimeoutError(f"projector: {await self.pending_count()} views still out of sync")

    async def sync(self, claimed: Projection) -> None:
        """Bring one view, claimed by this replica's worker, up to date, within its record's
        workspace: drawn from that workspace's rows, paced by its budget, sent with its token."""
        logs.bind_record(claimed.kind, claimed.record_id)  # this row's own asyncio task
        with within(workspaces.of_record(claimed)):
            await self._sync_within(claimed)

    async def _sync_within(self, claimed: Projection) -> None:
        if claimed.ts is not None and claimed.channel is not None:
            # Wait for Slack's budget before drawing, not after: a view drawn and then held
            # back by the pacer goes out stale and has to be sent again.
            await self.pacer.acquire("chat.update", claimed.channel)
            _PREPAID.set(("chat.update", claimed.channel))
        try:
            await self._sync_leased(claimed.id)
        except Exception:
            log.exception("projector: view %s could not be synced", claimed.id)
            await self._release(claimed.id, {"next_attempt_at": utcnow() + dt.timedelta(seconds=5)})

    async def _sync_leased(self, row_id: int) -> None:
        async with self.sessions() as session:
            row = await session.get(Projection, row_id)
            if row is None:
                return
            version = row.version
            try:
                rendered = await self._render(session, row)
            except NotReady as not_ready:
                await self._release(row_id, self._retry_values(row, Retry(1.0, str(not_ready))))
                return
        digest = content_hash(rendered)
        try:
            if rendered is not None and digest == row.content_hash and _shown(row, rendered):
                changes: dict[str, Any] = {}  # Slack shows this already: nothing to send
                self.metrics.projector.labels(row.kind, "unchanged").inc()
            else:
                changes = {**await self._apply(row, rendered), "content_hash": digest}
        except Retry as retry:
            self.metrics.projector.labels(row.kind, "retry").inc()
            await self._release(row_id, self._retry_values(row, retry))
            return
        except Parked as parked:
            log.warning("projector: %s:%s parked: %s", row.kind, row.record_id, parked)
            self.metrics.projector.labels(row.kind, "failed").inc()
            await self._release(row_id, {"status": "failed", "last_error": str(parked)})
            return
        self.metrics.projector.labels(row.kind, "synced").inc()
        await self._release(
            row_id,
            {
                **changes,
                "synced_version": version,
                "attempts": 0,
                "last_error": None,
                "next_attempt_at": None,
            },
        )

    async def _render(self, session: AsyncSession, row: Projection) -> Rendered | HomeView | None:
        registration = self.views.get(row.kind)
        if registration is None:
            raise NotReady(f"no view registered for {row.kind}")
        state = await registration.load(session, row.record_id)
        return None if state is None else registration.view(state)

    def _retry_values(self, row: Projection, retry: Retry) -> dict[str, Any]:
        attempts = row.attempts + (1 if retry.counts else 0)
        delay = (
            retry.delay
            if not retry.counts
            else max(retry.delay, backoff_seconds(attempts, base=self.backoff_base))
        )
        return {
            "attempts": attempts,
            "last_error": retry.error[:2000],
            "next_attempt_at": utcnow() + dt.timedelta(seconds=delay),
        }

    async def _release(self, row_id: int, values: dict[str, Any]) -> None:
        async with transaction(self.sessions) as session:
            await session.execute(
                update(Projection)
                .where(Projection.id == row_id, Projection.lease_owner == self.owner)
                .values(**values, lease_owner=None, lease_expires=None)
            )

    async def _apply(self, row: Projection, rendered: Rendered | HomeView | None) -> dict[str, Any]:
        if isinstance(rendered, HomeView):
            await self._call(
                "views.publish", rendered.user, user_id=rendered.user, view=rendered.view
            )
            return {"channel": rendered.user}
        if rendered is None:
            if row.ts and row.channel:
                await self._call(
                    "chat.delete",
                    row.channel,
                    channel=row.channel,
                    ts=row.ts,
                    ok_errors={"message_not_found"},
                )
            return {"ts": None, "pinned": False}
        if row.ts is None:
            return await self._post(row, rendered)
        await self._call(
            "chat.update",
            row.channel,
            channel=row.channel,
            ts=row.ts,
            text=rendered.text,
            blocks=_blocks_json(rendered.blocks),
            metadata=self._metadata(row),
        )
        return await self._pin(row, row.channel or rendered.channel, row.ts, rendered)

    def _metadata(self, row: Projection) -> dict[str, Any]:
        return {
            "event_type": METADATA_EVENT,
            "event_payload": {"kind": row.kind, "record_id": row.record_id},
        }

    async def _post(self, row: Projection, rendered: Rendered) -> dict[str, Any]:
        channel = await self._resolve_channel(rendered.channel)
        if row.post_started_at is not None:
            found = await self._find_posted(row, channel, rendered.thread_ts)
            if found:
                # Our earlier post landed but its answer was lost: adopt it, then update it.
                await self._call(
                    "chat.update",
                    channel,
                    channel=channel,
                    ts=found,
                    text=rendered.text,
                    blocks=_blocks_json(rendered.blocks),
                    metadata=self._metadata(row),
                )
                await self._store_posted(row.id, channel, found)
                return await self._pin(row, channel, found, rendered)
        await self._mark_post_started(row.id)
        response = await self._call(
            "chat.postMessage",
            channel,
            channel=channel,
            text=rendered.text,
            blocks=_blocks_json(rendered.blocks),
            thread_ts=rendered.thread_ts,
            metadata=self._metadata(row),
            unfurl_links=False,
            unfurl_media=False,
        )
        channel, ts = response["channel"], response["ts"]
        await self._store_posted(row.id, channel, ts)
        return await self._pin(row, channel, ts, rendered)

    async def _pin(
        self, row: Projection, channel: str, ts: str, rendered: Rendered
    ) -> dict[str, Any]:
        values: dict[str, Any] = {"channel": channel, "ts": ts, "post_started_at": None}
        if rendered.pin and not row.pinned:
            await self._call(
                "pins.add", channel, channel=channel, timestamp=ts, ok_errors={"already_pinned"}
            )
            values["pinned"] = True
        return values

    async def _resolve_channel(self, channel: str) -> str:
        """A user id means a DM: Slack needs the D channel id for later updates."""
        if channel[:1] in ("U", "W"):
            response = await self._call("conversations.open", None, users=channel)
            return str(response["channel"]["id"])
        return channel

    async def _find_posted(
        self, row: Projection, channel: str, thread_ts: str | None
    ) -> str | None:
        if thread_ts:
            response = await self._call(
                "conversations.replies",
                channel,
                channel=channel,
                ts=thread_ts,
                include_all_metadata=True,
                limit=200,
            )
        else:
            response = await self._call(
                "conversations.history",
                channel,
                channel=channel,
                include_all_metadata=True,
                limit=100,
            )
        expected = self._metadata(row)["event_payload"]
        for message in response.get("messages", []):
            metadata = message.get("metadata") or {}
            if metadata.get("event_type") == METADATA_EVENT and (
                metadata.get("event_payload") == expected
            ):
                return str(message["ts"])
        return None

    async def _mark_post_started(self, row_id: int) -> None:
        async with transaction(self.sessions) as session:
            await session.execute(
                update(Projection).where(Projection.id == row_id).values(post_started_at=utcnow())
            )

    async def _store_posted(self, row_id: int, channel: str, ts: str) -> None:
        # Committed at once: a crash after this point must never post the same view again.
        async with transaction(self.sessions) as session:
            await session.execute(
                update(Projection)
                .where(Projection.id == row_id)
                .values(channel=channel, ts=ts, post_started_at=None)
            )

    async def _call(
        self, method: str, pace_key: str | None, *, ok_errors: Set[str] = frozenset(), **args: Any
    ) -> dict[str, Any]:
        """One Web API call, paced per method and channel (`pace_key`), errors classified."""
        if _PREPAID.get() == (method, pace_key):
            _PREPAID.set(None)  # the budget was taken before the view was drawn
        else:
            await self.pacer.acquire(method, pace_key)
        arguments = {key: value for key, value in args.items() if value is not None}
        try:
            response = await self.client.api_call(method, json=arguments)
        except SlackApiError as error:
            return self._slack_error(method, pace_key, error, ok_errors)
        except (TimeoutError, OSError, Exception) as error:  # connection trouble: try later
            raise Retry(self.backoff_base, f"{method}: {error!r}") from error
        return dict(response.data) if isinstance(response.data, dict) else {}

    def _slack_error(
        self, method: str, channel: str | None, error: SlackApiError, ok_errors: Set[str]
    ) -> dict[str, Any]:
        status = error.response.status_code
        code = str(error.response.get("error", "")) if isinstance(error.response.data, dict) else ""
        if code in ok_errors:
            return dict(error.response.data)
        if status == 429:
            retry_after = float(error.response.headers.get("Retry-After", 1) or 1)
            self.pacer.pause(method, channel, retry_after)
            raise Retry(retry_after, f"{method}: ratelimited", counts=False)
        if code in PERMANENT_ERRORS:
            raise Parked(f"{method}: {code}")
        raise Retry(self.backoff_base, f"{method}: {code or status}")
