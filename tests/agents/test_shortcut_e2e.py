"""The `send_to_agent` message shortcut: a modal, then a task in the message's thread."""

from __future__ import annotations

from bot.agents import models as m
from bot.agents import service
from bot.agents.models import AgentRequest
from bot.sandbox.agent_server import AgentServer
from tests.agents.e2e import (
    ALICE,
    BOB,
    DAVE,
    GENERAL,
    agent_bot,
    all_in,
    count,
    posts_of,
    requests,
    start_thread,
    told,
    until,
)


def _form(instruction: str, repo: str, attempts: str = "1", branch: str = "") -> dict:
    def text(value: str) -> dict:
        return {"value": {"type": "plain_text_input", "value": value}}

    def choice(value: str) -> dict:
        return {"value": {"type": "static_select", "selected_option": {"value": value}}}

    return {
        "instruction": text(instruction),
        "repo": text(repo),
        "backend": choice("sandbox"),
        "attempts": choice(attempts),
        "branch": text(branch),
    }


async def test_shortcut_opens_a_modal_and_starts_a_task_in_the_thread(
    db_url: str, agent: AgentServer
) -> None:
    async with agent_bot(db_url, agent) as bot:
        root = await start_thread(bot, BOB, "checkout times out when the cart is empty")
        await bot.slack.message_shortcut(ALICE, "send_to_agent", GENERAL, root)
        [modal] = bot.state.open_views(ALICE)
        assert modal.callback_id == "agents.send"
        repo_block = next(b for b in modal.payload["blocks"] if b.get("block_id") == "repo")
        assert repo_block["element"]["initial_value"] == "octo-org/octo-repo"

        # A bad field is shown next to the field; nothing is started.
        await bot.slack.view_submission(
            ALICE, "agents.send", _form("fix it", "octo-org/octo-repo", attempts="9")
        )
        assert modal.errors and "attempts" in modal.errors
        await bot.slack.view_submission(ALICE, "agents.send", _form("fix it", "nope/nope"))
        assert modal.errors and "Unknown repository" in modal.errors["repo"]
        assert await count(bot, AgentRequest) == 0

        await bot.slack.view_submission(
            ALICE, "agents.send", _form("handle the empty cart", "octo-org/octo-repo")
        )
        assert modal.closed
        await until(bot, lambda: all_in(bot, m.COMPLETED))
        [request] = await requests(bot)
        assert (request.source, request.requester, request.thread_ts) == ("shortcut", ALICE, root)
        [card] = posts_of(bot, service.CARD)
        assert card.args["thread_ts"] == root
        # The shortcut's message is the context, not skipped like a mention would be.
        [received] = agent.received
        assert "checkout times out when the cart is empty" in received.text
        assert (
            '## Instruction from Slack user U0ALICE, shown as "alice"\nhandle the empty cart'
            in received.text
        )
        assert bot.state.message(GENERAL, root).reactions == {"eyes": ["U0OPSBOT"]}


async def test_shortcut_refuses_people_not_allowed(db_url: str, agent: AgentServer) -> None:
    async with agent_bot(db_url, agent) as bot:
        root = await start_thread(bot, DAVE, "please fix")
        await bot.slack.message_shortcut(DAVE, "send_to_agent", GENERAL, root)
        assert bot.state.open_views(DAVE) == []
        await bot.settle()
        assert "not on the list" in told(bot, DAVE)
