"""Tables of the standups feature.

A standup is a schedule plus participants. Every day it runs, a `StandupRun` holds that day's
digest; each message the bot owes a person (prompt, reminder) and each cutoff it has processed is
one `StandupDelivery` row, unique on (standup, user, local date, kind), so two replicas or a rerun
of the scheduled job produce it exactly once.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    Date,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from bot.core.db import Base, UTCDateTime, utcnow
from bot.core.workspaces import InWorkspace


class Standup(InWorkspace, Base):
    __tablename__ = "standups"
    # Names are a workspace's own: two workspaces may each have a "daily".
    __table_args__ = (UniqueConstraint("team_id", "name_key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(80))
    # Lower-cased name: commands find standups case-insensitively, and names stay unique.
    name_key: Mapped[str] = mapped_column(String(80))
    channel: Mapped[str | None] = mapped_column(String(32))
    questions: Mapped[list[str]] = mapped_column(JSON)
    days: Mapped[str] = mapped_column(String(32))  # "0,1,2,3,4": Monday is 0
    minute_of_day: Mapped[int] = mapped_column(Integer)
    fixed_tz: Mapped[str | None] = mapped_column(String(64))  # None: each person's own zone
    reminder_minutes: Mapped[int] = mapped_column(Integer)
    cutoff_minutes: Mapped[int] = mapped_column(Integer)
    usergroup: Mapped[str | None] = mapped_column(String(32))
    paused: Mapped[bool] = mapped_column(Boolean, default=False)
    archived: Mapped[bool] = mapped_column(Boolean, default=False)
    # Set when another feature runs this standup (e.g. "codered:3"); /standup cannot edit it.
    owner_ref: Mapped[str | None] = mapped_column(String(64), index=True)
    # A view of another feature that shows this standup's days (e.g. a header card showing
    # check-in status); it watches them with `service.day_watches(watch_kind)`.
    watch_kind: Mapped[str | None] = mapped_column(String(64))
    watch_id: Mapped[str | None] = mapped_column(String(64))
    created_by: Mapped[str] = mapped_column(String(32))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)


class StandupParticipant(InWorkspace, Base):
    __tablename__ = "standup_participants"
    __table_args__ = (UniqueConstraint("standup_id", "user_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    standup_id: Mapped[int] = mapped_column(ForeignKey("standups.id", ondelete="CASCADE"))
    user_id: Mapped[str] = mapped_column(String(32))
    source: Mapped[str] = mapped_column(String(16), default="user")  # user | group | loan
    added_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)


class StandupRun(InWorkspace, Base):
    __tablename__ = "standup_runs"
    __table_args__ = (UniqueConstraint("standup_id", "run_date"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    standup_id: Mapped[int] = mapped_column(ForeignKey("standups.id", ondelete="CASCADE"))
    run_date: Mapped[dt.date] = mapped_column(Date)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)


class StandupDelivery(InWorkspace, Base):
    """A prompt or reminder owed to one person, or the processed cutoff of their day."""

    __tablename__ = "standup_deliveries"
    __table_args__ = (
        UniqueConstraint("standup_id", "user_id", "run_date", "kind"),
        Index("ix_standup_deliveries_run", "run_id", "user_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    standup_id: Mapped[int] = mapped_column(ForeignKey("standups.id", ondelete="CASCADE"))
    run_id: Mapped[int] = mapped_column(ForeignKey("standup_runs.id", ondelete="CASCADE"))
    user_id: Mapped[str] = mapped_column(String(32))
    run_date: Mapped[dt.date] = mapped_column(Date)
    kind: Mapped[str] = mapped_column(String(16))  # prompt | reminder | cutoff
    prompt_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    cutoff_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)


class StandupAnswer(InWorkspace, Base):
    __tablename__ = "standup_answers"
    __table_args__ = (UniqueConstraint("run_id", "user_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    run_id: Mapped[int] = mapped_column(ForeignKey("standup_runs.id", ondelete="CASCADE"))
    standup_id: Mapped[int] = mapped_column(ForeignKey("standups.id", ondelete="CASCADE"))
    user_id: Mapped[str] = mapped_column(String(32))
    run_date: Mapped[dt.date] = mapped_column(Date)
    answers: Mapped[list[Any]] = mapped_column(JSON)
    blocker: Mapped[str | None] = mapped_column(Text)
    submitted_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    late: Mapped[bool] = mapped_column(Boolean, default=False)
    edited_after_cutoff: Mapped[bool] = mapped_column(Boolean, default=False)


class StandupAway(InWorkspace, Base):
    """Days a person is not asked: their own skip days, or a loan to other work."""

    __tablename__ = "standup_away"
    __table_args__ = (UniqueConstraint("team_id", "user_id", "kind", "ref", "start_date"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[str] = mapped_column(String(32), index=True)
    kind: Mapped[str] = mapped_column(String(16))  # skip | loan
    ref: Mapped[str] = mapped_column(String(64), default="")
    label: Mapped[str] = mapped_column(String(200), default="")
    start_date: Mapped[dt.date] = mapped_column(Date)
    end_date: Mapped[dt.date | None] = mapped_column(Date)  # None: until further notice
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)


class UserTimezone(Base):
    """Each person's Slack time zone (users.info), refreshed so moves and travel are noticed."""

    __tablename__ = "standup_user_timezones"

    user_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    tz: Mapped[str] = mapped_column(String(64))
    fetched_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
