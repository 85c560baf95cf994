"""Tasks are rows: they survive a restart, dead backends fail clearly, pushes are checked."""

from __future__ import annotations

import asyncio
import json
import socket
from pathlib import Path

import pytest

from bot.agents import models as m
from bot.agents import service
from bot.agents.backends.a2a import A2ABackend
from bot.app import Tuning
from bot.sandbox.agent_server import AgentServer
from bot.sandbox.harness import running_bot
from bot.sandbox.server import Sandbox
from tests.agents.e2e import (
    BOB,
    GENERAL,
    agent_bot,
    agents_config,
    all_in,
    mention,
    posts_of,
    shown,
    start_thread,
    tasks,
    until,
    updates_of,
    view_ts,
)

# A short lease so the restarted bot takes over quickly (a crash leaves the old one behind).
QUICK = Tuning(
    lease_seconds=1.0,
    task_sweep_seconds=0.1,
    projector_sweep_seconds=0.2,
    backoff_base=0.05,
    pacer_speedup=20.0,
)


async def test_killing_the_bot_mid_task_still_delivers_the_result(
    db_url: str, agent: AgentServer
) -> None:
    agent.executor.gate.clear()
    config = agents_config(agent.url)
    async with Sandbox() as sandbox:
        async with running_bot(db_url, sandbox=sandbox, tuning=QUICK, **config) as bot:
            root = await start_thread(bot)
            await bot.slack.user_message(GENERAL, BOB, mention(bot, "fix the login test"), root)
            await until(bot, lambda: agent.executor.waiting.is_set())
            await until(bot, lambda: all_in(bot, m.WORKING))
            [before] = await tasks(bot)
            assert before.backend_task_id and before.lease_owner == bot.rt.replica_id
            channel, ts = await view_ts(bot, service.CARD, before.id)
        # The bot is gone; the agent finishes on its own meanwhile.
        agent.executor.gate.set()
        backend_id = before.backend_task_id
        await agent_done(agent, backend_id or "")
        async with running_bot(db_url, sandbox=sandbox, tuning=QUICK, **config) as again:
            await until(again, lambda: all_in(again, m.COMPLETED))
            [after] = await tasks(again)
            assert after.id == before.id and after.backend_task_id == backend_id
            assert after.drives == 2 and after.files_changed == 1 and after.tests == "3 passed"
            await again.settle()
            assert (channel, ts) == await view_ts(again, service.CARD, after.id)
            assert "completed" in shown(again, channel, ts)
            assert len(posts_of(again, service.CARD)) == 1  # one card, across both lives
            [result] = posts_of(again, service.RESULT)
            assert "The agent finished" in result.args["text"]
            assert len(agent.received) == 1  # resumed, not sent again


async def agent_done(agent: AgentServer, task_id: str) -> None:
    for _ in range(200):
        if agent.executor.states.get(task_id) == "completed":
            return
        await asyncio.sleep(0.02)
    raise TimeoutError("the agent did not finish")


async def test_an_agent_that_does_not_stream_is_polled_after_a_restart(
    db_url: str, repo: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(A2ABackend, "poll_seconds", 0.05)
    async with AgentServer(repo, streaming=False, token="agent-secret") as agent:
        agent.executor.gate.clear()
        config = agents_config(agent.url)
        config["agents"]["backends"][0]["token"] = "agent-secret"
        async with Sandbox() as sandbox:
            async with running_bot(db_url, sandbox=sandbox, tuning=QUICK, **config) as bot:
                root = await start_thread(bot)
                await bot.slack.user_message(GENERAL, BOB, mention(bot, "fix it"), root)
                await until(bot, lambda: agent.executor.waiting.is_set())
                await until(bot, lambda: all_in(bot, m.SUBMITTED, m.WORKING))
                [before] = await tasks(bot)
                assert before.backend_task_id  # known at once, then polled
            async with running_bot(db_url, sandbox=sandbox, tuning=QUICK, **config) as again:
                agent.executor.gate.set()
                await until(again, lambda: all_in(again, m.COMPLETED))
                [after] = await tasks(again)
        assert after.backend_task_id == before.backend_task_id and after.drives == 2
        assert after.files_changed == 1 and len(agent.received) == 1


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def test_a_dead_backend_gives_a_clear_failure(db_url: str) -> None:
    dead = f"http://127.0.0.1:{_closed_port()}/"
    async with agent_bot(db_url, dead, retries=3) as bot:
        root = await start_thread(bot)
        await bot.slack.user_message(GENERAL, BOB, mention(bot, "fix the login test"), root)
        await until(bot, lambda: all_in(bot, m.FAILED))
        [task] = await tasks(bot)
        assert task.backend_errors == 3
        assert "could not be reached after 3 tries" in (task.error or "")
        channel, ts = await view_ts(bot, service.CARD, task.id)
        card = shown(bot, channel, ts)
        assert "failed" in card and "could not be reached after 3 tries" in card
        [line] = posts_of(bot, service.RESULT)
        assert (
            line.args["thread_ts"] == root
            and "<@U0BOB> :x: The agent task failed" in (line.args["text"])
        )


async def test_a_backend_that_dies_mid_task_fails_the_task(db_url: str, agent: AgentServer) -> None:
    agent.executor.gate.clear()
    async with agent_bot(db_url, agent) as bot:
        root = await start_thread(bot)
        await bot.slack.user_message(GENERAL, BOB, mention(bot, "fix the login test"), root)
        await until(bot, lambda: all_in(bot, m.WORKING))
        await agent.stop()
        await until(bot, lambda: all_in(bot, m.FAILED))
        [task] = await tasks(bot)
        assert "could not be reached after 2 tries" in (task.error or "")


async def test_an_attempt_that_takes_too_long_is_stopped(db_url: str, agent: AgentServer) -> None:
    agent.executor.gate.clear()
    async with agent_bot(db_url, agent, attempt_timeout_minutes=0.01) as bot:
        root = await start_thread(bot)
        await bot.slack.user_message(GENERAL, BOB, mention(bot, "fix the login test"), root)
        await until(bot, lambda: all_in(bot, m.FAILED))
        [task] = await tasks(bot)
        assert task.error == "The task did not finish within 0.01 minutes"
        await until(bot, lambda: agent.executor.states.get(task.backend_task_id) == "canceled")


async def test_push_notifications_are_checked_and_recorded(db_url: str, agent: AgentServer) -> None:
    import httpx

    agent.executor.gate.clear()
    settings = {"opsbot_public_url": "http://bot"}
    async with agent_bot(db_url, agent, settings=settings) as bot:
        assert bot.rt.web is not None
        agent.push_to(httpx.ASGITransport(app=bot.rt.web))
        root = await start_thread(bot)
        await bot.slack.user_message(GENERAL, BOB, mention(bot, "fix the login test"), root)
        await until(bot, lambda: all_in(bot, m.WORKING))
        [task] = await tasks(bot)
        event = {
            "statusUpdate": {
                "taskId": task.backend_task_id,
                "contextId": f"slack:{GENERAL}:{root}",
                "status": {
                    "state": "TASK_STATE_WORKING",
                    "message": {
                        "messageId": "m1",
                        "role": "ROLE_AGENT",
                        "parts": [{"text": "Pushed: halfway there"}],
                    },
                },
            }
        }
        body = json.dumps(event)
        for headers in ({}, {"X-A2A-Notification-Token": "wrong"}):
            refused = await bot.http.post("/agents/push", content=body, headers=headers)
            assert refused.status_code == 401
        unknown = dict(event, statusUpdate=dict(event["statusUpdate"], taskId="nope"))
        refused = await bot.http.post(
            "/agents/push",
            json=unknown,
            headers={"X-A2A-Notification-Token": task.push_token or ""},
        )
        assert refused.status_code == 401
        bad = await bot.http.post("/agents/push", content=b"[1, 2]")
        assert bad.status_code == 400
        accepted = await bot.http.post(
            "/agents/push",
            content=body,
            headers={"Authorization": f"Bearer {task.push_token}"},
        )
        assert accepted.status_code == 202 and accepted.json()["effect"] == "progress recorded"
        await bot.settle()
        channel, ts = await view_ts(bot, service.CARD, task.id)
        assert "Pushed: halfway there" in shown(bot, channel, ts)
        assert len(updates_of(bot, channel, ts)) >= 1

        # The agent's own pushes carry the task's token and are accepted too.
        agent.executor.gate.set()
        await until(bot, lambda: all_in(bot, m.COMPLETED))
        pushes = bot.rt.metrics.requests.labels("/agents/push", "202")._value.get()
        assert pushes > 1
