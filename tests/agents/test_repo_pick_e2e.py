"""A hand-off that names no repository, in a channel without one: the bot asks in the thread
with a select of the allowed repositories, and the requester's pick starts the task."""

from __future__ import annotations

from bot.agents import models as m
from bot.sandbox.agent_server import AgentServer
from tests.agents.e2e import (
    ALICE,
    BOB,
    GENERAL,
    agent_bot,
    all_in,
    mention,
    requests,
    told,
    until,
)

REPOS = {"C0DEV": "octo-org/octo-repo", "C0OPS": "octo-org/infra"}  # none for #general


def _asking(bot, thread: str) -> tuple[str, list[str]] | None:  # type: ignore[no-untyped-def]
    """The bot's question in the thread: its ts and the repositories offered."""
    for message in bot.state.replies(GENERAL, thread):
        if message.user == bot.state.bot_user_id:
            for block in message.blocks or []:
                if block.get("type") == "actions":
                    [select] = block["elements"]
                    return message.ts, [o["value"] for o in select["options"]]
    return None


async def test_the_requester_picks_the_repository_in_the_thread(
    db_url: str, agent: AgentServer
) -> None:
    async with agent_bot(db_url, agent, repos=REPOS) as bot:
        root = await bot.slack.user_message(GENERAL, BOB, "The deploy script times out.")
        asked = await bot.slack.user_message(
            GENERAL, BOB, mention(bot, "make the deploy retry"), root
        )
        await until(bot, lambda: _asking(bot, root))
        ts, offered = _asking(bot, root) or ("", [])
        assert offered == ["octo-org/infra", "octo-org/octo-repo"]
        assert await requests(bot) == []  # nothing started without a repository

        # Only the person who asked can pick.
        await bot.slack.block_action(
            ALICE, "agents.pick_repo", value="octo-org/infra", channel=GENERAL, message_ts=ts
        )
        await bot.settle()
        assert "Only <@U0BOB>, who asked" in told(bot, ALICE)
        assert await requests(bot) == []

        await bot.slack.block_action(
            BOB, "agents.pick_repo", value="octo-org/infra", channel=GENERAL, message_ts=ts
        )
        await until(bot, lambda: all_in(bot, m.COMPLETED))
        [request] = await requests(bot)
        assert (request.repo, request.requester) == ("octo-org/infra", BOB)
        assert request.instruction == "make the deploy retry"
        assert request.thread_ts == root and request.message_ts == asked
        assert "picked *octo-org/infra*" in bot.state.message(GENERAL, ts).text

        # A second pick does not start it again.
        await bot.slack.block_action(
            BOB, "agents.pick_repo", value="octo-org/octo-repo", channel=GENERAL, message_ts=ts
        )
        await bot.settle()
        assert len(await requests(bot)) == 1
