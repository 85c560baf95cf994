"""The Cancel button: refused for strangers, obeyed for the requester and for admins."""

from __future__ import annotations

from bot.agents import models as m
from bot.agents import service
from bot.sandbox.agent_server import AgentServer
from tests.agents.e2e import (
    ADMIN,
    ALICE,
    BOB,
    GENERAL,
    agent_bot,
    all_in,
    mention,
    posts_of,
    shown,
    start_thread,
    task_in,
    tasks,
    told,
    until,
    view_ts,
)


async def test_cancel_by_stranger_is_refused_and_by_requester_stops_the_task(
    db_url: str, agent: AgentServer
) -> None:
    agent.executor.gate.clear()  # the agent works until told to go on
    async with agent_bot(db_url, agent) as bot:
        root = await start_thread(bot)
        await bot.slack.user_message(
            GENERAL, BOB, mention(bot, "rewrite the login flow attempts=2"), root
        )
        await until(bot, lambda: all_in(bot, m.WORKING))
        first, second = await tasks(bot)
        channel, ts = await view_ts(bot, service.CARD, first.id)
        assert "Cancel" in shown(bot, channel, ts)

        await bot.slack.block_action(ALICE, "agents.cancel", channel=channel, message_ts=ts)
        await bot.settle()
        assert "Only <@U0BOB> (who asked) or an admin can cancel" in told(bot, ALICE)
        first, _ = await tasks(bot)
        assert first.state == m.WORKING and first.canceled_by is None

        await bot.slack.block_action(BOB, "agents.cancel", channel=channel, message_ts=ts)
        await until(bot, lambda: agent.executor.states.get(first.backend_task_id) == "canceled")
        await until(bot, lambda: task_in(bot, 0, m.CANCELED))
        card = shown(bot, channel, ts)
        assert "canceled" in card and "Canceled by <@U0BOB>" in card
        assert "agents.cancel" not in card  # the button is gone

        # An admin may cancel someone else's attempt.
        other_channel, other_ts = await view_ts(bot, service.CARD, second.id)
        await bot.slack.block_action(
            ADMIN, "agents.cancel", channel=other_channel, message_ts=other_ts
        )
        await until(bot, lambda: all_in(bot, m.CANCELED))
        assert "Canceled by <@U0ERIN>" in shown(bot, other_channel, other_ts)
        [comparison] = posts_of(bot, service.COMPARISON)
        assert comparison.args["text"].count(":no_entry_sign: canceled") == 2

        # The agent never got to edit the repository, even once let go.
        agent.executor.gate.set()
        await bot.settle()
        assert {agent.executor.states[t.backend_task_id or ""] for t in await tasks(bot)} == {
            "canceled"
        }
