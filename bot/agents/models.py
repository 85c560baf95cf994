"""Tables of the agents feature: a request from a thread, and one task per attempt."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column, synonym

from bot.core.db import Base, UTCDateTime, utcnow
from bot.core.workspaces import InWorkspace, VisibleWhereItsChannelIs

# Task states. A task is driven while active; it rests while waiting for input.
QUEUED = "queued"
SUBMITTED = "submitted"
WORKING = "working"
INPUT_REQUIRED = "input_required"
CANCELING = "canceling"
COMPLETED = "completed"
FAILED = "failed"
CANCELED = "canceled"
TERMINAL = frozenset({COMPLETED, FAILED, CANCELED})
DRIVABLE = frozenset({SUBMITTED, WORKING})


class AgentRequest(VisibleWhereItsChannelIs, Base):
    """One hand-off from Slack: what was asked, where, by whom, and what the agent was sent."""

    __tablename__ = "agent_requests"
    __table_args__ = (Index("ix_agent_requests_thread", "channel", "thread_ts"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    channel: Mapped[str] = mapped_column(String(32))
    record_channel = synonym("channel")
    # Unknown for `/agent run` until the bot's parent message is posted.
    thread_ts: Mapped[str | None] = mapped_column(String(32))
    message_ts: Mapped[str | None] = mapped_column(String(32))
    requester: Mapped[str] = mapped_column(String(32), index=True)
    source: Mapped[str] = mapped_column(String(16))
    instruction: Mapped[str] = mapped_column(Text)
    repo: Mapped[str] = mapped_column(String(200))
    base_branch: Mapped[str | None] = mapped_column(String(200))
    backend: Mapped[str] = mapped_column(String(64))
    attempts: Mapped[int] = mapped_column(Integer, default=1)
    follow_up_of: Mapped[int | None] = mapped_column(Integer)
    # The attempt a follow-up continues ("Continue with attempt N"); the first done if unset.
    chosen_attempt: Mapped[int | None] = mapped_column(Integer)
    context_id: Mapped[str | None] = mapped_column(String(200))
    # Exactly what the agent was sent, kept so the card can show it on request.
    sent_payload: Mapped[str | None] = mapped_column(Text)
    sent_meta: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    prepare_errors: Mapped[int] = mapped_column(Integer, default=0)
    # Slack users asked to review the attempts when they are compared (a CI breakage's
    # suspects, for a hand-off from its card).
    reviewers: Mapped[list[str] | None] = mapped_column(JSON)
    # Another feature's view that shows this request (an incident card showing a follow-up's
    # pull request): it watches the request with `service.request_watches(watch_kind)`.
    watch_kind: Mapped[str | None] = mapped_column(String(64))
    watch_id: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)


class AgentTask(InWorkspace, Base):
    """One attempt at a request, run by one backend; the backend's own task id is kept."""

    __tablename__ = "agent_tasks"
    __table_args__ = (Index("ix_agent_tasks_state", "state"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    request_id: Mapped[int] = mapped_column(ForeignKey("agent_requests.id"), index=True)
    attempt: Mapped[int] = mapped_column(Integer, default=1)
    backend: Mapped[str] = mapped_column(String(64))
    state: Mapped[str] = mapped_column(String(16), default=QUEUED)
    backend_task_id: Mapped[str | None] = mapped_column(String(200), index=True)
    branch: Mapped[str | None] = mapped_column(String(200))
    latest_step: Mapped[str | None] = mapped_column(Text)
    question: Mapped[str | None] = mapped_column(Text)
    # Every question the agent asked, in order; each is posted once in the thread.
    asked: Mapped[list[str]] = mapped_column(JSON, default=list)
    # The requester's answer, kept until the backend has it.
    pending_input: Mapped[str | None] = mapped_column(Text)
    summary: Mapped[str | None] = mapped_column(Text)
    pr_url: Mapped[str | None] = mapped_column(String(500))
    # When the pull request was opened (by the backend as the attempt ended, or later from the
    # comparison): what "opened this week" means for digests.
    pr_opened_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    diff_stat: Mapped[str | None] = mapped_column(Text)
    # The first lines of the change (unified diff), redacted: what the card shows of it.
    diff_preview: Mapped[str | None] = mapped_column(Text)
    # The whole change and what the agent printed, redacted: posted as files in the thread.
    patch: Mapped[str | None] = mapped_column(Text)
    transcript: Mapped[str | None] = mapped_column(Text)
    files_changed: Mapped[int | None] = mapped_column(Integer)
    lines_added: Mapped[int | None] = mapped_column(Integer)
    lines_removed: Mapped[int | None] = mapped_column(Integer)
    tests: Mapped[str | None] = mapped_column(String(200))
    # CI on the attempt's pushed branch: "green" or "red" for its newest commit (`ci_sha`),
    # from the latest run of each workflow (`ci_runs`: workflow -> outcome, sha, url, at).
    ci_state: Mapped[str | None] = mapped_column(String(16))
    ci_sha: Mapped[str | None] = mapped_column(String(64))
    ci_url: Mapped[str | None] = mapped_column(Text)
    ci_runs: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    error: Mapped[str | None] = mapped_column(Text)
    canceled_by: Mapped[str | None] = mapped_column(String(32))
    push_token: Mapped[str | None] = mapped_column(String(64))
    backend_errors: Mapped[int] = mapped_column(Integer, default=0)
    drives: Mapped[int] = mapped_column(Integer, default=0)
    lease_owner: Mapped[str | None] = mapped_column(String(128))
    lease_expires: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    started_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    finished_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
