"""Tables of the incidents feature.

The incident row is the truth; the Slack channel, the cards, the topic and the postmortem file are
projections of it. Slack ids (channel, user, message ts) are stored, never names.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, synonym

from bot.core.db import Base, UTCDateTime, utcnow
from bot.core.workspaces import InWorkspace, VisibleWhereItsChannelIs


class Incident(VisibleWhereItsChannelIs, Base):
    __tablename__ = "incidents"
    __table_args__ = (
        UniqueConstraint("team_id", "channel_id"),
        UniqueConstraint("team_id", "number"),
    )

    # The primary key is internal (foreign keys, task payloads, button values); it counts
    # every workspace's incidents, so it is never shown.
    id: Mapped[int] = mapped_column(primary_key=True)
    # The number people see and type (`/incident status 42 mitigated`): counted within the
    # incident's workspace, so one workspace cannot tell how many another declared.
    number: Mapped[int]
    title: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text, default="")
    severity: Mapped[str] = mapped_column(String(32))
    status: Mapped[str] = mapped_column(String(32))
    private: Mapped[bool] = mapped_column(default=False)
    reporter_id: Mapped[str] = mapped_column(String(32))
    channel_id: Mapped[str | None] = mapped_column(String(32))
    record_channel = synonym("channel_id")  # shared, it is seen on both sides
    channel_name: Mapped[str | None] = mapped_column(String(80))
    declared_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    mitigated_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    resolved_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    resolved_by: Mapped[str | None] = mapped_column(String(32))
    summary: Mapped[str] = mapped_column(Text, default="")
    last_update_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    snoozed_until: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    postmortem_md: Mapped[str | None] = mapped_column(Text)
    postmortem_tz: Mapped[str | None] = mapped_column(String(64))
    postmortem_file_id: Mapped[str | None] = mapped_column(String(32))


class IncidentCounter(Base):
    """How far a workspace's incident numbers have got, and the row its declarations take
    turns on (one declaration at a time per workspace, on SQLite and PostgreSQL alike).

    Not a workspace's record in the `InWorkspace` sense: it holds no Slack ids and is keyed by
    the team itself, so adopting unnamed rows never has two counters to merge, and a workspace
    that comes back after its records were forgotten numbers on from where it was.
    """

    __tablename__ = "incident_counters"

    team_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    last_number: Mapped[int] = mapped_column(default=0)


class RoleAssignment(InWorkspace, Base):
    """Every assignment is a row; the holder of a role is its latest row (history for free)."""

    __tablename__ = "incident_role_assignments"
    __table_args__ = (Index("ix_incident_role_assignments_incident", "incident_id", "role"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    incident_id: Mapped[int] = mapped_column(ForeignKey("incidents.id", ondelete="CASCADE"))
    role: Mapped[str] = mapped_column(String(64))
    user_id: Mapped[str] = mapped_column(String(32))
    assigned_by: Mapped[str] = mapped_column(String(32))
    assigned_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)


class TimelineEntry(InWorkspace, Base):
    __tablename__ = "incident_timeline"
    # A Slack message is in a timeline at most once, however often it is pinned or reacted to.
    __table_args__ = (UniqueConstraint("incident_id", "message_ts"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    incident_id: Mapped[int] = mapped_column(
        ForeignKey("incidents.id", ondelete="CASCADE"), index=True
    )
    kind: Mapped[str] = mapped_column(String(32))
    text: Mapped[str] = mapped_column(Text, default="")
    author_id: Mapped[str | None] = mapped_column(String(32))
    occurred_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    message_ts: Mapped[str | None] = mapped_column(String(32))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)


class TimelineMark(InWorkspace, Base):
    """Why a message is on the timeline: the pin, or one person's reaction.

    The entry stays while any mark remains, so one of two reactions going away keeps it.
    """

    __tablename__ = "incident_timeline_marks"
    __table_args__ = (UniqueConstraint("incident_id", "message_ts", "marker"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    incident_id: Mapped[int] = mapped_column(ForeignKey("incidents.id", ondelete="CASCADE"))
    message_ts: Mapped[str] = mapped_column(String(32))
    marker: Mapped[str] = mapped_column(String(64))


class FollowUp(InWorkspace, Base):
    __tablename__ = "incident_followups"

    id: Mapped[int] = mapped_column(primary_key=True)
    incident_id: Mapped[int] = mapped_column(
        ForeignKey("incidents.id", ondelete="CASCADE"), index=True
    )
    text: Mapped[str] = mapped_column(Text)
    owner_id: Mapped[str | None] = mapped_column(String(32))
    created_by: Mapped[str] = mapped_column(String(32))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    # The coding agents' request when the follow-up was sent to them (`bot.agents.service`).
    agent_request_id: Mapped[int | None] = mapped_column(Integer)


class Reminder(InWorkspace, Base):
    """One row per overdue period: the unique key makes a second reminder for it impossible."""

    __tablename__ = "incident_reminders"
    __table_args__ = (UniqueConstraint("incident_id", "due_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    incident_id: Mapped[int] = mapped_column(ForeignKey("incidents.id", ondelete="CASCADE"))
    due_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    commander_id: Mapped[str | None] = mapped_column(String(32))
    snoozed_by: Mapped[str | None] = mapped_column(String(32))
    snoozed_until: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
