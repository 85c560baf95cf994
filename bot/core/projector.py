"""The projector: the one way durable views reach Slack.

A feature registers a view per kind of record: a loader that reads the record's state, a pure
view that turns it into a `Rendered` message, and the rows it is drawn from (`Watch`). A
transaction that changes one of those rows marks the view dirty (`bot.core.watches`). After the
commit the projector wakes, renders the latest state, posts it once (storing channel and ts)
and afterwards updates it in place. Many changes between two syncs become
one `chat.update` because only the latest state is rendered.

Posting is made safe against lost answers by reconciliation, as a controller would: before a post
we record that one is in flight; if we come back to a record whose post was in flight and has no
ts, we look for our own message (tagged with metadata) in the channel before posting again.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from functools import cache
from typing import Any

from slack_sdk.models.blocks import Block
from sqlalchemy import Index, Integer, String, Text, UniqueConstraint, select, text, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Mapped, mapped_column

from bot.core import workspaces
from bot.core.db import Base, UTCDateTime, dialect_of, table_of, utcnow
from bot.core.watches import ViewMark
from bot.core.workspaces import InWorkspace, Workspace

METADATA_EVENT = "opsbot_view"
# Set in session.info by a transaction that marks views dirty: the projector wakes at its commit.
WAKE_FLAG = "wake_projector"
# Errors that no retry will fix; the row is parked and shown in metrics instead of hammering Slack.
PERMANENT_ERRORS = {
    "channel_not_found",
    "is_archived",
    "invalid_blocks",
    "too_many_blocks",
    "msg_too_long",
    "no_text",
    "cant_update_message",
    "invalid_auth",
    "not_authed",
    "account_inactive",
    "user_not_found",
}


@dataclass(frozen=True)
class Rendered:
    channel: str
    text: str
    blocks: Sequence[Block | dict[str, Any]] = ()
    thread_ts: str | None = None
    pin: bool = False


@dataclass(frozen=True)
class HomeView:
    """A person's App Home, published with views.publish (a view, not a message)."""

    user: str
    view: dict[str, Any]


class NotReady(Exception):
    """The view depends on something not posted yet (e.g. its parent message); try again soon."""


Loader = Callable[[AsyncSession, str], Awaitable[Any]]
View = Callable[[Any], Rendered | HomeView | None]


@dataclass
class Registration:
    load: Loader
    view: View


DIRTY = "status = 'active' AND version > synced_version"


class Projection(InWorkspace, Base):
    """A view of a record, sent to Slack with the token of the record's workspace."""

    __tablename__ = "slack_projections"
    __table_args__ = (
        UniqueConstraint("kind", "record_id"),
        # The card a button was clicked on (the gate: whose workspace's card it is).
        Index("ix_slack_projections_message", "channel", "ts"),
        # Only dirty views are indexed: the due query reads O(dirty) rows, not every card ever made.
        Index(
            "ix_projections_dirty",
            text("(ts IS NOT NULL)"),  # the due query's order: never-posted views first
            "updated_at",
            "id",
            postgresql_where=text(DIRTY),
            sqlite_where=text(DIRTY),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(64))
    record_id: Mapped[str] = mapped_column(String(128))
    channel: Mapped[str | None] = mapped_column(String(32))
    ts: Mapped[str | None] = mapped_column(String(32))
    version: Mapped[int] = mapped_column(Integer, default=1)
    synced_version: Mapped[int] = mapped_column(Integer, default=0)
    post_started_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    pinned: Mapped[bool] = mapped_column(default=False)
    status: Mapped[str] = mapped_column(String(16), default="active")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    last_error: Mapped[str | None] = mapped_column(Text)
    lease_owner: Mapped[str | None] = mapped_column(String(128))
    lease_expires: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    # What was last sent to Slack: a view drawn the same again is not sent again.
    content_hash: Mapped[str | None] = mapped_column(String(64))


@cache
def _dirty(dialect: str) -> Any:
    """The upsert that asks for the view of (kind, record) to be brought up to date: one
    statement per dialect, its values bound per call (`_dirty_row`), so it is built and compiled
    once rather than once per change."""
    table = table_of(Projection)
    statement = (pg_insert if dialect == "postgresql" else sqlite_insert)(table)
    return statement.on_conflict_do_update(
        index_elements=["kind", "record_id"],
        set_={
            "version": table.c.version + 1,
            "status": "active",
            "attempts": 0,
            "next_attempt_at": None,
            "updated_at": statement.excluded.updated_at,
        },
    )


def _dirty_row(
    kind: str, record_id: str, now: dt.datetime, workspace: Workspace | None
) -> dict[str, Any]:
    """A view's row when it is first marked: it stays in its record's workspace (on conflict
    only the version moves)."""
    workspace = workspace or workspaces.current()
    return {
        "team_id": workspace.team_id if workspace else workspaces.UNKNOWN,
        "enterprise_id": workspace.enterprise_id if workspace else None,
        "kind": kind,
        "record_id": record_id,
        "version": 1,
        "synced_version": 0,
        "status": "active",
        "attempts": 0,
        "updated_at": now,
    }


async def mark_dirty(session: AsyncSession, kind: str, record_id: str | int) -> None:
    """Ask for the view of (kind, record) to be brought up to date after this transaction.

    Features do not call this: their views watch their rows (`bot.core.watches`), and a view
    Slack lost is sent again with `redraw`. Tests use it to mark a view by hand.
    """
    await session.execute(
        _dirty(dialect_of(session)), _dirty_row(kind, str(record_id), utcnow(), None)
    )
    session.info[WAKE_FLAG] = True


async def redraw(session: AsyncSession, kind: str, record_id: str | int) -> None:
    """Send the view of (kind, record) to Slack again even if it is drawn the same: for when
    Slack no longer shows it (an App Home opened with no view, after a reinstall)."""
    await session.execute(
        _dirty(dialect_of(session)), _dirty_row(kind, str(record_id), utcnow(), None)
    )
    await session.execute(
        update(Projection)
        .where(Projection.kind == kind, Projection.record_id == str(record_id))
        .values(content_hash=None)
    )
    session.info[WAKE_FLAG] = True


def mark_dirty_now(connection: Connection, views: set[ViewMark]) -> None:
    """`mark_dirty` for the watches' commit hook, on the committing session's connection."""
    now = utcnow()
    # One order everywhere, so two writers never wait on each other's rows the other way round.
    ordered = sorted(views, key=lambda view: (view[0], view[1]))
    rows = [_dirty_row(kind, record_id, now, workspace) for kind, record_id, workspace in ordered]
    if rows:
        connection.execute(_dirty(connection.dialect.name), rows)


async def posted_ts(session: AsyncSession, kind: str, record_id: str | int) -> tuple[str, str]:
    """(channel, ts) of a posted view; raises NotReady until it has been posted."""
    row = await session.scalar(
        select(Projection).where(Projection.kind == kind, Projection.record_id == str(record_id))
    )
    if row is None or row.ts is None or row.channel is None:
        raise NotReady(f"{kind}:{record_id} not posted yet")
    return row.channel, row.ts


async def workspace_of_message(session: AsyncSession, channel: str, ts: str) -> Workspace | None:
    """The workspace whose view posted the message at (channel, ts), whichever workspace asks:
    a button on it is handled there (the gate). None for a message no view posted."""
    row = (
        await session.execute(
            select(Projection.team_id, Projection.enterprise_id)
            .where(Projection.channel == channel, Projection.ts == ts)
            .limit(1),
            execution_options={workspaces.ALL_WORKSPACES: True},
        )
    ).first()
    return Workspace(row.team_id, row.enterprise_id) if row and row.team_id else None
