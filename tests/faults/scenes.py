"""Small scripted scenes shared by the fault tests, sent through the in-process harness."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import httpx

from bot.core.db import utcnow
from bot.sandbox import seed
from bot.sandbox.ci_samples import github_headers, workflow_run
from bot.sandbox.harness import BotUnderTest

GITHUB_SECRET = "scene-github-secret"
CONFIG: dict[str, Any] = {
    "admins": [seed.ALICE],
    "github_webhook_secret": GITHUB_SECRET,
    "incidents": {"announce_channel": seed.INCIDENTS},
    "ci": {"routes": [{"repo": "octo-org/octo-repo", "branches": ["main"],
                       "channel": seed.CI_ALERTS}]},
}  # fmt: skip


def ci_delivery(run_id: int, sha: str, conclusion: str, minutes: int) -> tuple[bytes, dict]:
    created = utcnow().replace(microsecond=0) - dt.timedelta(minutes=60 - minutes)
    payload = workflow_run(
        repo="octo-org/octo-repo", run_id=run_id, sha=sha * 40, conclusion=conclusion,
        created=created,
    )  # fmt: skip
    body = json.dumps(payload).encode()
    return body, github_headers(GITHUB_SECRET, body)


async def post_ci(http: httpx.AsyncClient, delivery: tuple[bytes, dict]) -> httpx.Response:
    body, headers = delivery
    return await http.post("/webhooks/github", content=body, headers=headers)


def bot_posts(bot: BotUnderTest, channel: str) -> list[Any]:
    return [m for m in bot.state.messages(channel) if m.user == bot.state.bot_user_id]


def view_tags(bot: BotUnderTest) -> list[tuple[str, str]]:
    """(kind, record) of every message the projector posted, across the workspace."""
    tags = []
    for channel in bot.state.channels.values():
        for message in bot.state.all_messages(channel.id):
            payload = (message.metadata or {}).get("event_payload")
            if payload:
                tags.append((payload["kind"], payload["record_id"]))
    return tags


def incident_channel(bot: BotUnderTest) -> Any:
    [channel] = [c for c in bot.state.channels.values() if c.name.startswith("inc-")]
    return channel
