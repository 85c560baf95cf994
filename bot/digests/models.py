"""Tables of the digests feature: channel activity, digest schedules and digest runs.

Activity rows hold what digests count (channel, author, ts, thread) plus the text, which is kept
only for the retention period. Replies are rows too (thread_ts set), so reply counts are
aggregates rather than counters that out-of-order events could corrupt.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import JSON, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, synonym

from bot.core.db import Base, UTCDateTime, utcnow
from bot.core.workspaces import InWorkspace, VisibleWhereItsChannelIs


class ActivityMessage(VisibleWhereItsChannelIs, Base):
    __tablename__ = "activity_messages"
    __table_args__ = (
        UniqueConstraint("team_id", "channel", "ts"),
        # Covers the digest's counts (messages, people, threads) without touching the table.
        Index(
            "ix_activity_messages_window", "channel", "posted_at", "user_id", "thread_ts", "deleted"
        ),
        Index("ix_activity_messages_thread", "channel", "thread_ts", "user_id", "deleted"),
        Index("ix_activity_messages_questions", "channel", "is_question", "posted_at"),
        Index("ix_activity_messages_posted", "posted_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    channel: Mapped[str] = mapped_column(String(32))
    record_channel = synonym("channel")
    ts: Mapped[str] = mapped_column(String(32))
    # The parent's ts for a thread reply; None for a top-level message.
    thread_ts: Mapped[str | None] = mapped_column(String(32))
    user_id: Mapped[str] = mapped_column(String(32))
    posted_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    # Only ever true for a top-level message, so queries need no thread_ts condition with it.
    is_question: Mapped[bool] = mapped_column(default=False)
    # None once the retention period has passed (or never stored).
    text: Mapped[str | None] = mapped_column(Text)
    edited_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    # A deleted message stays as a marker, so a create event processed after its deletion
    # (events are replayed concurrently) cannot bring it back.
    deleted: Mapped[bool] = mapped_column(default=False)


class ActivityReaction(VisibleWhereItsChannelIs, Base):
    """One person's reaction on one message, as of the latest event about it.

    Add and remove events may be processed in any order; the one with the later event time wins,
    so the row ends as Slack does whatever order the workers saw them in.
    """

    __tablename__ = "activity_reactions"
    __table_args__ = (
        UniqueConstraint("team_id", "channel", "ts", "user_id", "name"),
        Index("ix_activity_reactions_changed", "channel", "changed_at", "present"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    channel: Mapped[str] = mapped_column(String(32))
    record_channel = synonym("channel")
    ts: Mapped[str] = mapped_column(String(32))
    user_id: Mapped[str] = mapped_column(String(32))
    name: Mapped[str] = mapped_column(String(100))
    present: Mapped[bool] = mapped_column(default=True)
    changed_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)


class ActivityOptOut(VisibleWhereItsChannelIs, Base):
    """A channel whose activity is not stored (`/ops activity off`)."""

    __tablename__ = "activity_opt_outs"

    channel: Mapped[str] = mapped_column(String(32), primary_key=True)
    record_channel = synonym("channel")
    by_user: Mapped[str] = mapped_column(String(32))
    at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)


class DigestSchedule(VisibleWhereItsChannelIs, Base):
    """A digest set from the channel itself (`/ops digest ...`); it overrides the config file.

    `enabled` False is `/ops digest off`: no digest in that channel, configured or not.
    """

    __tablename__ = "digest_schedules"

    channel: Mapped[str] = mapped_column(String(32), primary_key=True)
    record_channel = synonym("channel")
    enabled: Mapped[bool] = mapped_column(default=True)
    cadence: Mapped[str] = mapped_column(String(16), default="daily")
    weekday: Mapped[int | None] = mapped_column(Integer)
    minute_of_day: Mapped[int] = mapped_column(Integer, default=9 * 60)
    timezone: Mapped[str] = mapped_column(String(64), default="UTC")
    set_by: Mapped[str] = mapped_column(String(32))
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)


class DigestRun(InWorkspace, Base):
    """One digest firing. Unique on (digest, fire time): replicas racing to create it make one."""

    __tablename__ = "digest_runs"
    __table_args__ = (UniqueConstraint("digest_key", "fire_time"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    digest_key: Mapped[str] = mapped_column(String(200))
    channel: Mapped[str] = mapped_column(String(32))
    timezone: Mapped[str] = mapped_column(String(64))
    period: Mapped[str] = mapped_column(String(16))
    fire_time: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    window_start: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    post_empty: Mapped[bool] = mapped_column(default=False)
    unanswered_hours: Mapped[float] = mapped_column(default=4.0)
    # pending -> ready (posted by the projector) | empty (nothing to say, not posted)
    status: Mapped[str] = mapped_column(String(16), default="pending")
    snapshot: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    chart_file_id: Mapped[str | None] = mapped_column(String(32))
    requested_by: Mapped[str | None] = mapped_column(String(32))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
