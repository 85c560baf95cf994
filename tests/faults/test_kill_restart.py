"""SIGKILL at random points of a scripted scenario, then restart: nothing lost, nothing doubled."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import random
import subprocess
import sys
from collections import Counter
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from bot.agents.models import AgentTask
from bot.core.db import make_engine, make_sessionmaker, utcnow
from bot.migrate import upgrade
from bot.sandbox import seed
from bot.sandbox.agent_git import make_repo
from bot.sandbox.agent_server import AgentServer
from bot.sandbox.ci_samples import github_headers, workflow_run
from bot.sandbox.driver import SlackDriver
from bot.sandbox.server import Sandbox
from tests.faults.process import GITHUB_SECRET, SIGNING_SECRET, BotProcess, wait_until_settled

Step = Callable[[], Awaitable[httpx.Response]]
CONFIG: dict[str, Any] = {
    "admins": [seed.ALICE],
    "incidents": {"announce_channel": seed.INCIDENTS},
    "ci": {"routes": [{"repo": "octo-org/octo-repo", "branches": ["main"],
                       "channel": seed.CI_ALERTS}]},
}  # fmt: skip


def ci_step(bot: BotProcess, run_id: int, sha: str, conclusion: str, minutes: int) -> Step:
    created = utcnow().replace(microsecond=0) - dt.timedelta(minutes=60 - minutes)

    async def deliver() -> httpx.Response:
        payload = workflow_run(
            repo="octo-org/octo-repo",
            run_id=run_id,
            sha=sha * 40,
            conclusion=conclusion,
            created=created,
        )
        body = json.dumps(payload).encode()
        async with httpx.AsyncClient() as http:
            return await http.post(
                f"{bot.base}/webhooks/github",
                content=body,
                headers=github_headers(GITHUB_SECRET, body),
            )

    return deliver


def incident_step(slack: SlackDriver) -> Step:
    async def declare() -> httpx.Response:
        return await slack.command(
            "/incident", "declare Checkout is down sev1", user=seed.ALICE, channel=seed.GENERAL
        )

    return declare


def standup_steps(bot: BotProcess, slack: SlackDriver) -> tuple[Step, Step]:
    """Create a standup whose prompt is due at a coming minute, then run the minute job once
    that minute has come (`opsbot jobs run`). The minute is chosen when the standup is created,
    at least 20 s ahead: the steps before it, and a restart after a kill, take their time."""
    due: dict[str, dt.datetime] = {}

    async def create() -> httpx.Response:
        prompt_at = (utcnow() + dt.timedelta(seconds=80)).replace(second=0, microsecond=0)
        due["prompt_at"] = prompt_at
        day = f"{prompt_at:%a}".lower()
        text = (
            f'create "Daily" <#{seed.STANDUP}|standup> {prompt_at:%H:%M} '
            f"<@{seed.ALICE}> <@{seed.BOB}> days={day} tz=UTC"
        )
        return await slack.command("/standup", text, user=seed.ALICE, channel=seed.STANDUP)

    async def tick() -> httpx.Response:
        await asyncio.sleep(max(0.0, (due["prompt_at"] - utcnow()).total_seconds()) + 0.5)
        result = await asyncio.to_thread(
            subprocess.run,
            [sys.executable, "-m", "bot.cli", "jobs", "run", "standups.tick"],
            env=bot.env(), capture_output=True, text=True, timeout=120,
        )  # fmt: skip
        assert result.returncode == 0, result.stderr
        return httpx.Response(200)

    return create, tick


def agent_step(slack: SlackDriver) -> Step:
    async def mention_in_thread() -> httpx.Response:
        root = await slack.user_message(seed.GENERAL, seed.BOB, "the login test is flaky")
        text = f"<@{slack.state.bot_user_id}> fix the login test"
        await slack.user_message(seed.GENERAL, seed.BOB, text, thread_ts=root)
        assert slack.last_response is not None
        return slack.last_response

    return mention_in_thread


async def wait_for_agents(database_url: str, timeout: float = 60.0) -> None:
    """Agent drives run outside the task queue: wait until every task has finished."""
    engine = make_engine(database_url)
    try:
        for _ in range(int(timeout * 10)):
            async with make_sessionmaker(engine)() as session:
                states = list(await session.scalars(select(AgentTask.state)))
            if states and all(state in ("completed", "failed", "canceled") for state in states):
                return
            await asyncio.sleep(0.1)
        raise TimeoutError(f"agent tasks still running: {states}")
    finally:
        await engine.dispose()


def scenario(bot: BotProcess, slack: SlackDriver, with_standup: bool) -> list[Step]:
    steps = [
        ci_step(bot, 101, "a", "success", 0),
        incident_step(slack),
        ci_step(bot, 102, "b", "failure", 10),
        ci_step(bot, 103, "c", "failure", 20),
        agent_step(slack),
        ci_step(bot, 104, "d", "success", 30),
    ]
    if with_standup:
        create, tick = standup_steps(bot, slack)
        steps[1:1] = [create]
        steps.append(tick)
    return steps


async def play_with_kills(bot: BotProcess, steps: list[Step], rng: random.Random) -> int:
    kills = 0
    for step in steps:
        response = await step()
        assert response.status_code in (200, 202), response.text
        # The step was acknowledged: its work is in flight. Kill somewhere inside it.
        await asyncio.sleep(rng.uniform(0, 0.4))
        if rng.random() < 0.6:
            bot.kill()
            kills += 1
            await bot.start()
    return kills


def view_tags(state: Any) -> list[tuple[str, str]]:
    """(kind, record) of every message the projector posted, across the workspace."""
    tags = []
    for channel in state.channels.values():
        for message in state.all_messages(channel.id):
            payload = (message.metadata or {}).get("event_payload")
            if payload:
                tags.append((payload["kind"], payload["record_id"]))
    return tags


def assert_no_duplicate_views(state: Any) -> None:
    doubled = {tag: n for tag, n in Counter(view_tags(state)).items() if n > 1}
    assert doubled == {}


@pytest.mark.parametrize("seed_value", [1, 2])
async def test_kill_and_restart_loses_nothing(
    empty_db_url: str, tmp_path: Path, seed_value: int
) -> None:
    db_url = empty_db_url
    upgrade(db_url)
    rng = random.Random(seed_value)
    repo = make_repo(tmp_path / "octo-repo")
    async with Sandbox() as sandbox, AgentServer(repo) as agent:
        config = {**CONFIG, "agents": {
            "backends": [{"name": "sandbox", "kind": "a2a", "url": agent.url}],
            "repos": {seed.GENERAL: "octo-org/octo-repo"}, "allowed_users": [seed.BOB],
            "retry_seconds": 0.2, "recover_seconds": 0.5,
        }}  # fmt: skip
        bot = BotProcess(db_url, sandbox.url, config, tmp_path)
        slack = SlackDriver(f"{bot.base}/slack/events", SIGNING_SECRET, sandbox.state, sandbox.base)
        await bot.start()
        try:
            steps = scenario(bot, slack, with_standup=seed_value == 1)
            kills = await play_with_kills(bot, steps, rng)
            await wait_for_agents(db_url)
            await wait_until_settled(db_url)
        finally:
            bot.stop()
        state = sandbox.state
        assert kills >= 1
        assert_no_duplicate_views(state)
        ci_cards = [m for m in state.messages(seed.CI_ALERTS) if m.user == state.bot_user_id]
        assert len(ci_cards) == 1
        thread = state.replies(seed.CI_ALERTS, ci_cards[0].ts)
        assert any("green" in m.text.lower() or "recover" in m.text.lower() for m in thread)
        incident_channels = [c for c in state.channels.values() if c.name.startswith("inc-")]
        assert len(incident_channels) == 1
        [incident_channel] = incident_channels
        cards = [m for m in state.messages(incident_channel.id) if m.user == state.bot_user_id]
        assert len([m for m in cards if m.pinned]) == 1
        announcements = [m for m in state.messages(seed.INCIDENTS) if m.user == state.bot_user_id]
        assert len(announcements) == 1
        agent_cards = [t for t in view_tags(state) if t[0] == "agents.card"]
        results = [t for t in view_tags(state) if t[0] == "agents.result"]
        assert (len(agent_cards), len(results)) == (1, 1)
        assert len(agent.received) == 1, "the task was sent to the agent more than once"
        if seed_value == 1:
            for person in (seed.ALICE, seed.BOB):
                dm = state.open_im(person)
                prompts = [
                    m for m in state.messages(dm)
                    if (m.metadata or {}).get("event_payload", {}).get("kind") == "standups.prompt"
                ]  # fmt: skip
                assert len(prompts) == 1, f"{person} got {len(prompts)} standup prompts"
