"""Helpers for the end-to-end agent tests: the bot, the sandbox Slack and a real A2A agent."""

from __future__ import annotations

import asyncio
import inspect
import json
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

from sqlalchemy import func, select

from bot.agents import service
from bot.agents.models import AgentRequest, AgentTask
from bot.core.projector import METADATA_EVENT, Projection
from bot.sandbox.agent_server import AgentServer
from bot.sandbox.harness import BotUnderTest, running_bot
from bot.sandbox.seed import ALICE, BOB, CAROL, DAVE, ERIN, GENERAL

__all__ = ["ALICE", "BOB", "CAROL", "DAVE", "ERIN", "GENERAL"]
REPO = "octo-org/octo-repo"
ADMIN = ERIN


def agents_config(agent_url: str, **overrides: Any) -> dict[str, Any]:
    agents = {
        "backends": [{"name": "sandbox", "kind": "a2a", "url": agent_url}],
        "repos": {GENERAL: REPO},
        "allowed_users": [ALICE, BOB],
        "retries": 2,
        "retry_seconds": 0.05,
        "recover_seconds": 0.5,
    }
    agents.update(overrides)
    return {"agents": agents, "admins": [ADMIN]}


@asynccontextmanager
async def agent_bot(
    db_url: str, agent: AgentServer | str, settings: dict[str, Any] | None = None, **agents: Any
) -> AsyncIterator[BotUnderTest]:
    url = agent if isinstance(agent, str) else agent.url
    config = {**agents_config(url, **agents), **(settings or {})}
    async with running_bot(db_url, **config) as bot:
        yield bot


async def until(bot: BotUnderTest, check: Callable[[], Any], timeout: float = 30.0) -> Any:
    """Let the bot work (tasks, views, background drives) until `check()` holds."""
    deadline = time.monotonic() + timeout
    while True:
        await bot.settle()
        result = check()
        if inspect.isawaitable(result):
            result = await result
        if result:
            await bot.settle()  # what changed just before the check reaches Slack too
            return result
        if time.monotonic() > deadline:
            raise TimeoutError(f"condition not met in time; {await _where_tasks_are(bot)}")
        await asyncio.sleep(0.05)


async def _where_tasks_are(bot: BotUnderTest) -> str:
    """What a timed-out wait found: each agent task's state, last step and error."""
    found = [
        f"#{task.id} {task.state} step={task.latest_step!r} error={task.error!r} "
        f"backend_errors={task.backend_errors}"
        for task in await tasks(bot)
    ]
    return "tasks: " + ("; ".join(found) or "none")


def mention(bot: BotUnderTest, text: str) -> str:
    return f"<@{bot.state.bot_user_id}> {text}"


async def start_thread(
    bot: BotUnderTest, user: str = BOB, text: str = "the login test is flaky"
) -> str:
    return await bot.slack.user_message(GENERAL, user, text)


async def tasks(bot: BotUnderTest) -> list[AgentTask]:
    async with bot.rt.sessions() as session:
        return list(await session.scalars(select(AgentTask).order_by(AgentTask.id)))


async def requests(bot: BotUnderTest) -> list[AgentRequest]:
    async with bot.rt.sessions() as session:
        return list(await session.scalars(select(AgentRequest).order_by(AgentRequest.id)))


async def count(bot: BotUnderTest, model: type) -> int:
    async with bot.rt.sessions() as session:
        return int(await session.scalar(select(func.count()).select_from(model)) or 0)


async def all_in(bot: BotUnderTest, *states: str) -> bool:
    found = await tasks(bot)
    return bool(found) and all(task.state in states for task in found)


async def task_in(bot: BotUnderTest, index: int, state: str) -> bool:
    return (await tasks(bot))[index].state == state


async def view_ts(bot: BotUnderTest, kind: str, record: int | str) -> tuple[str, str]:
    async with bot.rt.sessions() as session:
        row = await session.scalar(
            select(Projection).where(Projection.kind == kind, Projection.record_id == str(record))
        )
    assert row is not None and row.channel and row.ts, f"{kind}:{record} not posted"
    return row.channel, row.ts


def posts_of(bot: BotUnderTest, kind: str) -> list[Any]:
    """Successful chat.postMessage calls that carried one of our views of `kind`."""
    found = []
    for call in bot.state.calls_to("chat.postMessage"):
        metadata = call.args.get("metadata") or {}
        payload = metadata.get("event_payload") or {} if isinstance(metadata, dict) else {}
        if metadata.get("event_type") == METADATA_EVENT and payload.get("kind") == kind and call.ok:
            found.append(call)
    return found


def updates_of(bot: BotUnderTest, channel: str, ts: str) -> list[Any]:
    return [
        c
        for c in bot.state.calls_to("chat.update")
        if c.args.get("ts") == ts and c.args.get("channel") == channel and c.ok
    ]


def shown(bot: BotUnderTest, channel: str, ts: str) -> str:
    """Everything a reader sees in a message: its fallback text and its blocks."""
    message = bot.state.message(channel, ts)
    assert message is not None
    return message.text + json.dumps(message.blocks or [])


def thread_texts(bot: BotUnderTest, thread_ts: str, channel: str = GENERAL) -> list[str]:
    return [m.text for m in bot.state.replies(channel, thread_ts)]


def told(bot: BotUnderTest, user: str) -> str:
    return "\n".join(e.text for e in bot.state.ephemerals_for(user))


CARD = service.CARD
