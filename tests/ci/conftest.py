"""Helpers for the ci tests: database sessions and provider-neutral runs."""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.ci.service import watching
from bot.ci.service.events import GREEN, IGNORED, RED, Commit, RunEvent
from bot.config import CiRoute
from bot.core.db import make_engine, make_sessionmaker
from bot.core.projector import WAKE_FLAG, mark_dirty_now
from bot.core.watches import Watches
from bot.sandbox.harness import BotUnderTest, running_bot

T0 = dt.datetime(2026, 3, 2, 9, 0, tzinfo=dt.UTC)
ROUTE = CiRoute(repo="octo-org/octo-repo", branches=["main"], channel="C0CI", owners=["U0CAROL"])


@pytest.fixture
async def sessions(db_url: str) -> AsyncIterator[async_sessionmaker[AsyncSession]]:
    """Sessions that mark the feature's views dirty as the running bot's do (its watches)."""
    engine = make_engine(db_url)
    made = make_sessionmaker(engine)
    watches = Watches(mark_dirty_now, WAKE_FLAG)
    for kind, sources in watching.VIEWS.items():
        watches.add(kind, sources)
    watches.install(made)
    yield made
    await engine.dispose()


def run_event(
    outcome: str,
    sha: str,
    run_id: int,
    minute: int,
    *,
    attempt: int = 1,
    workflow: str = "test",
    done_minute: int | None = None,
    branch: str = "main",
) -> RunEvent:
    """A run created at T0+minute (its push) and completed at T0+done_minute."""
    conclusion = {GREEN: "success", RED: "failure", IGNORED: "cancelled"}[outcome]
    created = T0 + dt.timedelta(minutes=minute)
    done = T0 + dt.timedelta(minutes=done_minute if done_minute is not None else minute + 5)
    return RunEvent(
        provider="github",
        repo="octo-org/octo-repo",
        branch=branch,
        workflow=workflow,
        external_id=str(run_id),
        attempt=attempt,
        sha=sha,
        conclusion=conclusion,
        outcome=outcome,
        created_at=created,
        completed_at=done,
        default_branch="main",
        number=str(run_id),
        url=f"https://github.com/octo-org/octo-repo/actions/runs/{run_id}",
        title=f"commit {sha}",
        commits=(Commit(sha=sha, message=f"change {sha}", author_email=f"{sha}@example.com"),),
    )


def later(minutes: int) -> dt.datetime:
    return T0 + dt.timedelta(minutes=minutes)


def as_dict(item: Any) -> dict[str, Any]:
    return dict(item.__dict__)


GITHUB_SECRET = "It's a Secret to Everybody"
GITLAB_TOKEN = "gitlab-shared-token"
BUILDKITE_TOKEN = "buildkite-webhook-secret"
CI_CONFIG: dict[str, Any] = {
    "routes": [
        {
            "repo": "octo-org/octo-repo",
            "branches": ["main"],
            "channel": "C0CI",
            "owners": ["U0CAROL"],
        },
        {"repo": "gitlab-org/gitlab-test", "channel": "C0CI"},
        {"repo": "acme-inc/my-pipeline", "branches": ["main", "release/*"], "channel": "C0CI"},
    ],
    "still_red_hours": 4,
}


@asynccontextmanager
async def ci_bot(db_url: str, **overrides: Any) -> AsyncIterator[BotUnderTest]:
    settings: dict[str, Any] = {
        "ci": CI_CONFIG,
        "github_webhook_secret": GITHUB_SECRET,
        "gitlab_webhook_token": GITLAB_TOKEN,
        "buildkite_webhook_token": BUILDKITE_TOKEN,
        **overrides,
    }
    async with running_bot(db_url, **settings) as bot:
        bot.state.add_channel("ci", ["U0ALICE", "U0BOB", bot.state.bot_user_id], id="C0CI")
        yield bot
