"""Tables of the code red feature.

A code red is one row; at most one is active at a time (`active_slot` is 1 while active and
unique, NULL once resolved). Its timeline, loans, paused initiatives and the one-off notices it
sends (loan reminders, call reminders, reconfirm prompts, resume DMs) hang off it. Each notice is
unique on (code red, key), so the scheduled job sends it exactly once whatever runs it.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import JSON, Date, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from bot.core.db import Base, UTCDateTime, utcnow
from bot.core.workspaces import InWorkspace


class CodeRed(InWorkspace, Base):
    __tablename__ = "codereds"
    # One code red at a time in a workspace, and one war room channel per code red.
    __table_args__ = (
        UniqueConstraint("team_id", "active_slot"),
        UniqueConstraint("team_id", "channel_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    slug: Mapped[str] = mapped_column(String(60))
    level: Mapped[str] = mapped_column(String(8))
    focus: Mapped[str] = mapped_column(String(200))
    owner_id: Mapped[str] = mapped_column(String(32))
    exit_criteria: Mapped[str] = mapped_column(Text, default="")
    target_date: Mapped[dt.date | None] = mapped_column(Date)
    call_link: Mapped[str | None] = mapped_column(String(500))
    declared_by: Mapped[str] = mapped_column(String(32))
    declared_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    level_since: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    # A reconfirmed level restarts the clock for its maximum duration.
    level_confirmed_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    resolved_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    resolved_by: Mapped[str | None] = mapped_column(String(32))
    summary: Mapped[str | None] = mapped_column(Text)
    channel_id: Mapped[str | None] = mapped_column(String(32))
    channel_name: Mapped[str | None] = mapped_column(String(80))
    standup_id: Mapped[int | None] = mapped_column(Integer)  # the check-in (a standup)
    active_slot: Mapped[int | None] = mapped_column(Integer)
    # What the header showed of the live figures last time: a change redraws it.
    header_fingerprint: Mapped[str | None] = mapped_column(String(200))


class CodeRedSpan(Base):
    """Another workspace a code red spans (`codered.workspaces` when declared): it is announced
    there, and has a war room there too, with a copy of the header kept in sync."""

    __tablename__ = "codered_spans"
    __table_args__ = (UniqueConstraint("codered_id", "team_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    codered_id: Mapped[int] = mapped_column(ForeignKey("codereds.id"), index=True)
    team_id: Mapped[str] = mapped_column(String(32))
    channel_id: Mapped[str | None] = mapped_column(String(32))  # its war room in that workspace
    channel_name: Mapped[str | None] = mapped_column(String(80))


class CodeRedEvent(InWorkspace, Base):
    """The timeline: declared, level changes, loans, pauses, reconfirmations, resolved."""

    __tablename__ = "codered_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    codered_id: Mapped[int] = mapped_column(ForeignKey("codereds.id", ondelete="CASCADE"))
    at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    kind: Mapped[str] = mapped_column(String(16))
    actor: Mapped[str] = mapped_column(String(32))
    text: Mapped[str] = mapped_column(Text, default="")
    level: Mapped[str | None] = mapped_column(String(8))


class CodeRedLoan(InWorkspace, Base):
    __tablename__ = "codered_loans"

    id: Mapped[int] = mapped_column(primary_key=True)
    codered_id: Mapped[int] = mapped_column(ForeignKey("codereds.id", ondelete="CASCADE"))
    user_id: Mapped[str] = mapped_column(String(32))
    by: Mapped[str] = mapped_column(String(32))
    start_date: Mapped[dt.date] = mapped_column(Date)
    until_date: Mapped[dt.date | None] = mapped_column(Date)  # None: until the code red ends
    started_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    ended_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    end_reason: Mapped[str | None] = mapped_column(String(16))  # ended | returned | resolved


class CodeRedPause(InWorkspace, Base):
    __tablename__ = "codered_pauses"
    __table_args__ = (UniqueConstraint("codered_id", "key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    codered_id: Mapped[int] = mapped_column(ForeignKey("codereds.id", ondelete="CASCADE"))
    key: Mapped[str] = mapped_column(String(200))  # lower-cased initiative: one row each
    initiative: Mapped[str] = mapped_column(String(200))
    owner_id: Mapped[str | None] = mapped_column(String(32))
    paused_by: Mapped[str] = mapped_column(String(32))
    paused_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)


class CodeRedNotice(InWorkspace, Base):
    """A one-off message: its view is `codered.notice`, its key says what it is about."""

    __tablename__ = "codered_notices"
    __table_args__ = (UniqueConstraint("codered_id", "key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    codered_id: Mapped[int] = mapped_column(ForeignKey("codereds.id", ondelete="CASCADE"))
    key: Mapped[str] = mapped_column(String(120))
    kind: Mapped[str] = mapped_column(String(24))
    target: Mapped[str] = mapped_column(String(32))  # a user id (a DM) or a channel id
    data: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    answer: Mapped[str | None] = mapped_column(String(32))
    answered_by: Mapped[str | None] = mapped_column(String(32))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
