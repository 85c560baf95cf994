"""Incident follow-ups handed to coding agents, end to end: signed slash commands and menu
choices through the real web app, Slack played by the sandbox, the command backend with the
stand-in agent and real git, and the GitHub stand-in for the pull requests.

`/incident followup ... agent` -> refused for someone not allowed to start agent tasks and for
an unknown repository -> accepted -> the attempt works in the card's thread -> its PR is linked
on the card; a second follow-up sent from the card's menu; the postmortem and the digest list
both pull requests.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from bot.agents import models as m
from bot.agents.models import AgentRequest
from bot.incidents.models import FollowUp
from bot.incidents.service import kinds
from bot.incidents.views.followup_form import CALLBACK as FOLLOWUP_FORM
from bot.sandbox.driver import picked
from bot.sandbox.github import GitHubStandIn
from bot.sandbox.harness import BotUnderTest
from tests.agents.e2e import all_in, tasks, until
from tests.agents.test_command_backend_e2e import command_agents
from tests.digests.conftest import digests_in, ops, text_of
from tests.incidents.e2e import (
    ALICE,
    BOB,
    CAROL,
    GENERAL,
    count,
    incident_bot,
    incident_row,
    message_text,
    say,
    view_ts,
)

__all__ = ["checkout"]  # a fixture, from the command backend's tests
from tests.agents.test_command_backend_e2e import checkout  # noqa: E402,F401

PR_1 = "https://github.com/octo-org/octo-repo/pull/1"
PR_2 = "https://github.com/octo-org/octo-repo/pull/2"
LEAKED = "ghp_" + "Z9y8X7w6V5u4T3s2R1q0P9o8N7m6L5k4J3i2"


@pytest.fixture
async def github(checkout: Path) -> AsyncIterator[GitHubStandIn]:
    async with GitHubStandIn(checkout.parent / "origin.git") as standin:
        yield standin


def _agents(checkout: Path, tmp_path: Path, github: GitHubStandIn) -> dict[str, Any]:
    return command_agents(
        checkout, tmp_path, github_token="ghs_agents", github_api_url=github.url,
        allowed_users=[ALICE, BOB],
    )  # fmt: skip


async def _nothing_written(bot: BotUnderTest) -> bool:
    return await count(bot, FollowUp) == 0 and await count(bot, AgentRequest) == 0


async def _card(bot: BotUnderTest) -> tuple[str, str]:
    return await view_ts(bot, kinds.CARD, 1)


async def test_a_followup_sent_to_agents_gets_its_pr_on_card_postmortem_and_digest(
    db_url: str, checkout: Path, tmp_path: Path, github: GitHubStandIn
) -> None:
    async with incident_bot(db_url, agents=_agents(checkout, tmp_path, github)) as bot:
        await say(bot, "declare Checkout returns 502 sev1")
        await bot.settle()
        channel, card_ts = await _card(bot)
        update = f"update Upstream pool exhausted; token {LEAKED} was in the log"
        assert "Update posted" in await say(bot, update, ALICE, channel)

        # Someone who may add follow-ups but not start agent tasks is refused; so is a repository
        # the agents do not work on. Each is told ephemerally and nothing is written.
        refusal = await say(bot, "followup #1 Add a retry agent", CAROL, channel)
        assert "Only the people `agents.allowed_users` lists, or an admin," in refusal
        assert "can hand work to the coding agents" in refusal
        refusal = await say(bot, "followup #1 Add a retry agent repo=evil/repo", ALICE, channel)
        assert "The coding agents do not work on `evil/repo`" in refusal
        assert "`octo-org/octo-repo`" in refusal
        assert await _nothing_written(bot)

        said = await say(
            bot, f"followup Add a retry to the payment call <@{BOB}> agent", ALICE, channel
        )
        assert "Follow-up recorded on incident #1 and sent to a coding agent" in said
        assert "*octo-org/octo-repo*" in said
        await until(bot, lambda: all_in(bot, m.COMPLETED), timeout=60)
        [task] = await tasks(bot)
        assert task.pr_url == PR_1

        # The request runs in the card's thread and was sent the follow-up and the incident.
        async with bot.rt.sessions() as session:
            request = await session.get(AgentRequest, 1)
            followup = await session.get(FollowUp, 1)
        assert request is not None and followup is not None
        assert (request.channel, request.thread_ts) == (channel, card_ts)
        assert request.requester == ALICE and request.repo == "octo-org/octo-repo"
        assert request.instruction == "Add a retry to the payment call"
        assert followup.agent_request_id == 1 and followup.owner_id == BOB
        sent = request.sent_payload or ""
        assert "> Add a retry to the payment call" in sent and "> Checkout returns 502" in sent
        assert "Severity: sev1" in sent and "Upstream pool exhausted" in sent
        assert LEAKED not in sent
        assert [r for r in bot.state.replies(channel, card_ts) if r.user == bot.state.bot_user_id]

        # The card links the pull request, redrawn when it opened.
        await until(bot, lambda: f"<{PR_1}|PR #1>" in message_text(bot, channel, card_ts))

        # A second follow-up, sent from the card's menu.
        await say(bot, "followup Write the pool-exhaustion runbook", ALICE, channel)
        await bot.settle()
        card = message_text(bot, channel, card_ts)
        assert (
            "Send a follow-up to an agent" in card and "Write the pool-exhaustion runbook" in card
        )
        await bot.slack.block_action(
            ALICE, "incidents.followup_agent", value="1:2", channel=channel, message_ts=card_ts
        )
        await bot.settle()
        # The choice opens a form: repository (the channel's default is none here, so the
        # only one), attempts and agent; nothing is sent yet.
        [opened] = bot.state.calls_to("views.open")
        form = opened.args["view"]
        form = json.loads(form) if isinstance(form, str) else form
        assert form["callback_id"] == FOLLOWUP_FORM
        metadata = json.loads(form["private_metadata"])
        assert (metadata["incident"], metadata["followup"]) == (1, 2)
        assert [b["block_id"] for b in form["blocks"][1:]] == ["repo", "attempts", "backend"]
        assert await _requests(bot) == 1
        await bot.slack.view_submission(
            ALICE, FOLLOWUP_FORM, picked(repo="octo-org/octo-repo", attempts="1", backend="local")
        )
        await until(bot, lambda: "sent to a coding agent" in _told(bot, ALICE))
        await until(bot, lambda: all_in(bot, m.COMPLETED), timeout=60)
        await until(bot, lambda: f"<{PR_2}|PR #2>" in message_text(bot, channel, card_ts))
        assert "Send a follow-up to an agent" not in message_text(bot, channel, card_ts)

        # The postmortem lists both pull requests with their follow-ups.
        await say(bot, "resolve Pool resized", ALICE, channel)
        await until(bot, lambda: _postmortem(bot))
        markdown = await _postmortem(bot)
        assert "Add a retry to the payment call (owner: " in markdown
        assert f"agent pull request: [PR #1]({PR_1})" in markdown
        assert f"agent pull request: [PR #2]({PR_2})" in markdown
        assert not _late_notices(bot, channel)  # the draft links them all

        # So does the digest of a channel that may see the incident.
        await ops(bot, "digest now", ALICE, GENERAL)
        await bot.settle()
        [digest] = digests_in(bot)
        shown = text_of(digest)
        assert f"<{PR_1}|PR for a follow-up of #1: Add a retry to the payment call" in shown
        assert f"<{PR_2}|PR for a follow-up of #1: Write the pool-exhaustion runbook" in shown


async def _requests(bot: BotUnderTest) -> int:
    async with bot.rt.sessions() as session:
        return len(list(await session.scalars(select(AgentRequest))))


def _told(bot: BotUnderTest, user: str) -> str:
    return "\n".join(e.text for e in bot.state.ephemerals_for(user))


async def _postmortem(bot: BotUnderTest) -> str:
    return (await incident_row(bot, 1)).postmortem_md or ""


async def test_without_a_repository_to_work_on_the_followup_is_not_recorded(
    db_url: str, tmp_path: Path
) -> None:
    """No repository the agents know, or several and none for the channel: a usage answer that
    names `repo=owner/name`, and nothing written."""
    backend = {"name": "sandbox", "kind": "a2a", "url": "http://127.0.0.1:9/"}
    async with incident_bot(db_url, agents={"backends": [backend]}) as bot:
        await say(bot, "declare Search is slow")
        await bot.settle()
        channel, _ = await _card(bot)
        said = await say(bot, "followup Cache the query agent", ALICE, channel)
        assert "The coding agents know no repository" in said and "agents.repos" in said
        assert await _nothing_written(bot)
        card = message_text(bot, channel, (await _card(bot))[1])
        assert "Send a follow-up to an agent" not in card

    repos = {GENERAL: "octo-org/web", "C0OTHER": "octo-org/api"}
    async with incident_bot(db_url, agents={"backends": [backend], "repos": repos}) as bot:
        await say(bot, "declare Search is slow again")
        await bot.settle()
        channel, _ = await view_ts(bot, kinds.CARD, 2)
        said = await say(bot, "followup Cache the query agent attempts=2", ALICE, channel)
        assert "Say which repository with `repo=owner/name`" in said
        assert "`octo-org/api`, `octo-org/web`" in said
        assert await _nothing_written(bot)
        said = await say(bot, "followup Cache the query agent attempts=9 repo=octo-org/api",
                         ALICE, channel)  # fmt: skip
        assert "`attempts=` must be a whole number from 1 to 4" in said
        assert await _nothing_written(bot)


async def test_a_pr_opened_after_the_postmortem_is_posted_in_the_incident_channel(
    db_url: str, checkout: Path, tmp_path: Path, github: GitHubStandIn
) -> None:
    """The postmortem draft is written at resolve: a follow-up's pull request that opens later
    is not in it, so the incident's channel is told, with its link, to add it."""
    async with incident_bot(db_url, agents=_agents(checkout, tmp_path, github)) as bot:
        await say(bot, "declare Checkout returns 502 sev1")
        await bot.settle()
        channel, _ = await _card(bot)
        await say(bot, "followup Add a retry and hold for review agent", ALICE, channel)
        await until(bot, lambda: all_in(bot, m.WORKING))
        await say(bot, "resolve Pool resized", ALICE, channel)
        await until(bot, lambda: _postmortem(bot))
        assert "a coding agent is on it" in await _postmortem(bot)
        assert not _late_notices(bot, channel)

        tree = tmp_path / "trees" / "octo-org__octo-repo" / "opsbot-agent-1-1"
        (tree / ".release").write_text("")
        await until(bot, lambda: _late_notices(bot, channel))
        [notice] = _late_notices(bot, channel)
        assert "Opened after the postmortem draft of incident #1 was written" in notice
        assert f"Add a retry and hold for review: <{PR_1}|PR #1>" in notice


def _late_notices(bot: BotUnderTest, channel: str) -> list[str]:
    return [
        message_text(bot, channel, message.ts)
        for message in bot.state.messages(channel)
        if "Opened after the postmortem draft" in message_text(bot, channel, message.ts)
    ]
