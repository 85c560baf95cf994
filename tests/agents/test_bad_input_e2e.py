"""Bad input gets an ephemeral line saying what was wrong plus the usage, and no task."""

from __future__ import annotations

from bot.agents.models import AgentRequest, AgentTask
from bot.core.tasks import Task
from bot.sandbox.agent_server import AgentServer
from bot.sandbox.harness import BotUnderTest
from tests.agents.e2e import (
    BOB,
    CAROL,
    DAVE,
    GENERAL,
    agent_bot,
    count,
    mention,
    start_thread,
    told,
)

BAD = [
    ("run nope/nope fix it", "Unknown repository `nope/nope`"),
    ("run octo-org/octo-repo fix it backend=warp", "Unknown backend `warp`"),
    ("run octo-org/octo-repo fix it attempts=9", "must be a whole number from 1 to 4"),
    ("run octo-org/octo-repo", "The instruction is empty"),
    ("run octo-org/octo-repo   attempts=2", "The instruction is empty"),
    ("run", "Say which repository"),
    ("frobnicate", "Unknown subcommand `frobnicate`"),
]


async def _say(bot: BotUnderTest, text: str, user: str = BOB) -> str:
    before = len(bot.state.ephemerals)
    response = await bot.slack.command("/agent", text, user=user, channel=GENERAL)
    assert response.status_code == 200
    return "\n".join(e.text for e in bot.state.ephemerals[before:])


async def _nothing_written(bot: BotUnderTest) -> None:
    await bot.settle()
    assert await count(bot, AgentRequest) == 0 and await count(bot, AgentTask) == 0
    assert await count(bot, Task) == 0 or all(t.kind == "slack.event" for t in await _tasks(bot))


async def _tasks(bot: BotUnderTest) -> list[Task]:
    from sqlalchemy import select

    async with bot.rt.sessions() as session:
        return list(await session.scalars(select(Task)))


async def test_bad_commands_get_usage_and_no_task(db_url: str, agent: AgentServer) -> None:
    async with agent_bot(db_url, agent) as bot:
        for text, problem in BAD:
            answer = await _say(bot, text)
            assert problem in answer, text
            assert "/agent run <owner/repo> <instruction>" in answer
        for text in ("", "help"):
            assert "/agent run <owner/repo> <instruction>" in await _say(bot, text)
        listing = await _say(bot, "backends")
        assert "`sandbox` (a2a)" in listing and "`octo-org/octo-repo`" in listing
        assert "no agent tasks yet" in await _say(bot, "list")
        await _nothing_written(bot)


async def test_bad_mentions_get_an_ephemeral_usage_line(db_url: str, agent: AgentServer) -> None:
    async with agent_bot(db_url, agent) as bot:
        root = await start_thread(bot)
        for text, problem in (
            ("fix it repo=nope/nope", "Unknown repository `nope/nope`"),
            ("fix it backend=warp", "Unknown backend `warp`"),
            ("fix it attempts=9", "must be a whole number from 1 to 4"),
            ("attempts=2", "The instruction is empty"),
            ("", "The instruction is empty"),
        ):
            await bot.slack.user_message(GENERAL, BOB, mention(bot, text), root)
            await bot.settle()
            [last] = bot.state.ephemerals_for(BOB)[-1:]
            assert problem in last.text and last.thread_ts == root
            assert "/agent run" in last.text
        await _nothing_written(bot)


async def test_only_allowed_people_and_groups_may_start_tasks(
    db_url: str, agent: AgentServer
) -> None:
    # S0BACKEND holds Bob and Carol in the sandbox workspace; Dave is in neither list.
    async with agent_bot(db_url, agent, allowed_users=["U0ALICE", "S0BACKEND"]) as bot:
        assert "not on the list" in await _say(bot, "run octo-org/octo-repo fix it", user=DAVE)
        root = await start_thread(bot, DAVE)
        await bot.slack.user_message(GENERAL, DAVE, mention(bot, "fix it"), root)
        await bot.settle()
        assert told(bot, DAVE).count("not on the list") == 2
        await _nothing_written(bot)
        started = await _say(bot, "run octo-org/octo-repo fix it", user=CAROL)
        assert "Agent task #1 started" in started
        assert await count(bot, AgentRequest) == 1
