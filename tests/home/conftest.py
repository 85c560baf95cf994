"""Helpers for the App Home tests: other features' state, made through their own services."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from sqlalchemy import update

from bot.agents import models as agent_models
from bot.agents import service as agents
from bot.agents.backends.base import Outcome, Update
from bot.agents.service.parsing import Spec
from bot.core.db import transaction, utcnow
from bot.core.tasks import Task
from bot.sandbox.harness import BotUnderTest, running_bot
from bot.sandbox.seed import ALICE, CI_ALERTS
from bot.standups import service as standups

GITHUB_SECRET = "home-test-github-secret"
CONFIG: dict[str, Any] = {
    "admins": [ALICE],
    "github_webhook_secret": GITHUB_SECRET,
    "ci": {"routes": [{"repo": "octo-org/octo-repo", "branches": ["main"], "channel": CI_ALERTS}]},
    "codered": {"declarers": [ALICE]},
}


@asynccontextmanager
async def home_bot(db_url: str, **overrides: Any) -> AsyncIterator[BotUnderTest]:
    """The bot with timers off: jobs run when a test says so."""
    async with running_bot(db_url, **{**CONFIG, **overrides}) as bot:
        await bot.rt.scheduler.stop()
        yield bot


async def agent_task(
    bot: BotUnderTest,
    requester: str,
    instruction: str,
    state: str = agent_models.WORKING,
    pr_url: str | None = None,
) -> int:
    """A task in `state`, made through the agents service; no backend is involved in these tests."""
    async with transaction(bot.rt.sessions) as session:
        spec = Spec(instruction, "octo-org/octo-repo", "default", 1, None)
        request = await agents.create_request(
            session, spec, channel="C0DEV", thread_ts="1.000100", message_ts="1.000100",
            requester=requester, source="mention",
        )  # fmt: skip
        # Preparing would read the thread from Slack and call a backend: not what is tested here.
        await session.execute(
            update(Task).where(Task.kind == agents.TASK_PREPARE).values(status="done")
        )
        [task] = await agents.request_tasks(session, request.id)
        outcome = Outcome(summary="done", pr_url=pr_url) if pr_url else None
        await agents.apply_update(session, task.id, Update(state=state, outcome=outcome))
        return task.id


async def standup_for(bot: BotUnderTest, name: str, users: list[str], channel: str) -> None:
    """A standup every day whose prompt went out half an hour ago (UTC), so it is open now."""
    now = utcnow()
    minute = max(0, now.hour * 60 + now.minute - 30)
    spec = standups.StandupSpec(
        name=name,
        channel=channel,
        questions=list(standups.DEFAULT_QUESTIONS),
        days=tuple(range(7)),
        minute_of_day=minute,
        fixed_tz="UTC",
        reminder_minutes=60,
        cutoff_minutes=180,
        users=users,
    )
    async with transaction(bot.rt.sessions) as session:
        await standups.create(session, spec, users[0], now=now - dt.timedelta(hours=1))


def home_of(bot: BotUnderTest, user: str) -> str:
    """Everything the person's published App Home shows."""
    view = bot.state.home_views.get(user)
    assert view is not None, f"no home published for {user}"
    return json.dumps(view.payload["blocks"], ensure_ascii=False)


def publishes_for(bot: BotUnderTest, user: str) -> int:
    return sum(1 for call in bot.state.calls_to("views.publish") if call.args["user_id"] == user)
