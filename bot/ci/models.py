"""Tables of the ci feature.

A pipeline is (provider, repo, branch, workflow). Every completed run we accept is a row; a
breakage is the stretch of red between a green->red transition and the run that ends it.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from bot.core.db import Base, UTCDateTime, utcnow
from bot.core.workspaces import InWorkspace


class CiPipeline(Base):
    __tablename__ = "ci_pipelines"
    __table_args__ = (UniqueConstraint("provider", "repo", "branch", "workflow"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    provider: Mapped[str] = mapped_column(String(16))
    repo: Mapped[str] = mapped_column(String(255))
    branch: Mapped[str] = mapped_column(String(255))
    workflow: Mapped[str] = mapped_column(String(255))
    # "green", "red" or "unknown" (no deciding run yet).
    state: Mapped[str] = mapped_column(String(16), default="unknown")
    state_since: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    # The newest run (by provider creation order) that decided the state: later-arriving older
    # runs compare against it and cannot flip the state back.
    head_run_id: Mapped[int | None] = mapped_column(Integer)
    last_green_run_id: Mapped[int | None] = mapped_column(Integer)
    open_breakage_id: Mapped[int | None] = mapped_column(Integer)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)


class CiRun(Base):
    __tablename__ = "ci_runs"
    __table_args__ = (
        UniqueConstraint("provider", "external_id", "attempt"),
        Index("ix_ci_runs_pipeline_sha", "pipeline_id", "sha"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    pipeline_id: Mapped[int] = mapped_column(ForeignKey("ci_pipelines.id"))
    provider: Mapped[str] = mapped_column(String(16))
    external_id: Mapped[str] = mapped_column(String(64))
    attempt: Mapped[int] = mapped_column(Integer, default=1)
    number: Mapped[str | None] = mapped_column(String(32))
    sha: Mapped[str] = mapped_column(String(64))
    conclusion: Mapped[str] = mapped_column(String(32))
    # "green", "red" or "ignored" (cancelled, skipped... say nothing about the code).
    outcome: Mapped[str] = mapped_column(String(16))
    url: Mapped[str | None] = mapped_column(Text)
    title: Mapped[str | None] = mapped_column(Text)
    commit_message: Mapped[str | None] = mapped_column(Text)
    author_name: Mapped[str | None] = mapped_column(String(255))
    author_email: Mapped[str | None] = mapped_column(String(255))
    # Provider creation time: one per push, kept by re-runs; this is the ordering key.
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    completed_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    received_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    breakage_id: Mapped[int | None] = mapped_column(ForeignKey("ci_breakages.id"), index=True)
    # Older than what the pipeline already knows: stored, but it changed nothing.
    stale: Mapped[bool] = mapped_column(default=False)
    # A red run whose sha also passed: counted as a flake of its workflow.
    flaky: Mapped[bool] = mapped_column(default=False)
    # Arrived while the branch was muted: no thread line for it.
    quiet: Mapped[bool] = mapped_column(default=False)


class CiBreakagePost(Base):
    """Where a breakage's card is shown: one per workspace its routes name, kept in sync from
    the one breakage. The first route's post is the breakage's own `channel`."""

    __tablename__ = "ci_breakage_posts"
    __table_args__ = (UniqueConstraint("breakage_id", "team_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    breakage_id: Mapped[int] = mapped_column(ForeignKey("ci_breakages.id"), index=True)
    team_id: Mapped[str] = mapped_column(String(32))  # "": the route names no workspace
    channel: Mapped[str] = mapped_column(String(32))


class CiBreakage(Base):
    __tablename__ = "ci_breakages"
    __table_args__ = (Index("ix_ci_breakages_status", "status"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    pipeline_id: Mapped[int] = mapped_column(ForeignKey("ci_pipelines.id"), index=True)
    # "open", "fixed" or "flaky".
    status: Mapped[str] = mapped_column(String(16), default="open")
    channel: Mapped[str] = mapped_column(String(32))
    opened_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    closed_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    first_red_run_id: Mapped[int] = mapped_column(Integer)
    closing_run_id: Mapped[int | None] = mapped_column(Integer)
    last_green_sha: Mapped[str | None] = mapped_column(String(64))
    # Opened while muted: no card until the mute ends (then the still-red job posts it).
    muted: Mapped[bool] = mapped_column(default=False)
    suspects_ready: Mapped[bool] = mapped_column(default=False)
    owners_notified_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    # When the sweep last re-rendered the open card so its "red for" stays roughly current.
    card_refreshed_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    owners: Mapped[list[Any]] = mapped_column(JSON, default=list)


class CiSuspect(Base):
    __tablename__ = "ci_suspects"
    __table_args__ = (UniqueConstraint("breakage_id", "sha"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    breakage_id: Mapped[int] = mapped_column(ForeignKey("ci_breakages.id"))
    position: Mapped[int] = mapped_column(Integer, default=0)
    sha: Mapped[str] = mapped_column(String(64))
    message: Mapped[str | None] = mapped_column(Text)
    url: Mapped[str | None] = mapped_column(Text)
    author_name: Mapped[str | None] = mapped_column(String(255))
    author_email: Mapped[str | None] = mapped_column(String(255))
    author_login: Mapped[str | None] = mapped_column(String(255))
    # No longer written: the author is a different Slack user in each workspace the breakage
    # is posted in, read there from `ci.authors` and `CiAuthor` (`suspects.users_here`).
    slack_user: Mapped[str | None] = mapped_column(String(32))


class CiAuthor(InWorkspace, Base):
    """users.lookupByEmail answers, kept until they expire (misses are kept for less)."""

    __tablename__ = "ci_authors"
    # Each workspace knows its own people: one address is a different user id in each.
    __table_args__ = (UniqueConstraint("team_id", "email"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(255))
    slack_user: Mapped[str | None] = mapped_column(String(32))
    expires_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)


class CiMute(Base):
    __tablename__ = "ci_mutes"
    __table_args__ = (UniqueConstraint("repo", "branch"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    repo: Mapped[str] = mapped_column(String(255))
    branch: Mapped[str] = mapped_column(String(255))
    until: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    muted_by: Mapped[str | None] = mapped_column(String(32))


class CiFixRequest(InWorkspace, Base):
    """Agents asked to fix a breakage from its card, in the workspace of that card: one row
    each time they are asked (`round`), which the card and its thread show."""

    __tablename__ = "ci_fix_requests"
    # One round at a time: two presses racing for the next round insert one row between them.
    __table_args__ = (UniqueConstraint("team_id", "breakage_id", "round"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    breakage_id: Mapped[int] = mapped_column(ForeignKey("ci_breakages.id"), index=True)
    round: Mapped[int] = mapped_column(Integer, default=1)
    channel: Mapped[str] = mapped_column(String(32))
    thread_ts: Mapped[str] = mapped_column(String(32))  # the card: attempts go in its thread
    requested_by: Mapped[str] = mapped_column(String(32))
    reviewers: Mapped[list[Any]] = mapped_column(JSON, default=list)
    attempts: Mapped[int] = mapped_column(Integer)
    backend: Mapped[str | None] = mapped_column(String(64))  # None: `ci.fix_backend`
    # "preparing" (reading the failing jobs, logs and diff), "handed" (the agents' request
    # `agent_request_id` runs it) or "failed" (`problem` says why).
    status: Mapped[str] = mapped_column(String(16), default="preparing")
    problem: Mapped[str | None] = mapped_column(Text)
    # What the agents were not given, said on the card (e.g. logs without a token).
    left_out: Mapped[str | None] = mapped_column(Text)
    agent_request_id: Mapped[int | None] = mapped_column(Integer)
    # Once the breakage is over: the attempts whose change the green commit holds ([]: none),
    # decided at `credited_at` (None: not yet), and how (`credit_note`).
    fixed_by: Mapped[list[Any]] = mapped_column(JSON, default=list)
    credited_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    credit_note: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
