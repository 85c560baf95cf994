"""Several attempts run in parallel and end in exactly one comparison."""

from __future__ import annotations

from bot.agents import models as m
from bot.agents import service
from bot.sandbox.agent_server import AgentServer
from tests.agents.e2e import (
    BOB,
    GENERAL,
    agent_bot,
    all_in,
    mention,
    posts_of,
    start_thread,
    tasks,
    until,
)


async def test_three_attempts_give_one_comparison(db_url: str, agent: AgentServer) -> None:
    async with agent_bot(db_url, agent) as bot:
        root = await start_thread(bot)
        await bot.slack.user_message(
            GENERAL, BOB, mention(bot, "make the login test reliable attempts=3"), root
        )
        await until(bot, lambda: all_in(bot, m.COMPLETED))
        found = await tasks(bot)
        assert [t.attempt for t in found] == [1, 2, 3]
        assert {t.branch for t in found} == {f"opsbot/agent-1-{n}" for n in (1, 2, 3)}
        assert len({r.task_id for r in agent.received}) == 3
        assert all(r.context_id == f"slack:{GENERAL}:{root}" for r in agent.received)
        assert len(posts_of(bot, service.CARD)) == 3
        assert posts_of(bot, service.RESULT) == []  # the comparison speaks for all three
        [comparison] = posts_of(bot, service.COMPARISON)
        text = comparison.args["text"]
        assert comparison.args["thread_ts"] == root
        assert "<@U0BOB>" in text and "3 attempts are done" in text
        for attempt, added in ((1, 1), (2, 2), (3, 3)):
            assert (
                f"*Attempt {attempt}* · :white_check_mark: completed · 1 file, +{added} -0" in text
            )
        assert text.count("tests: 3 passed") == 3
        assert text.count("branch `opsbot/agent-1-") == 3
        await bot.settle()
        assert len(posts_of(bot, service.COMPARISON)) == 1
