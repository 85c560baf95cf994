"""App Home through signed events and clicks: each person sees what is theirs, kept fresh."""

from __future__ import annotations

import json

from bot.agents import models as agent_models
from bot.agents.models import AgentTask
from bot.codered import service as codered
from bot.codered.service.options import Options as CodeRedOptions
from bot.core.db import transaction, utcnow
from bot.sandbox.ci_samples import github_headers, workflow_run
from bot.sandbox.harness import BotUnderTest
from bot.sandbox.seed import ALICE, BOB, CAROL, GENERAL, STANDUP
from tests.home.conftest import (
    GITHUB_SECRET,
    agent_task,
    home_bot,
    home_of,
    publishes_for,
    standup_for,
)


async def incident(bot: BotUnderTest, text: str, user: str) -> None:
    response = await bot.slack.command("/incident", text, user=user, channel=GENERAL)
    assert response.status_code == 200


async def red_ci_run(bot: BotUnderTest) -> None:
    payload = workflow_run(conclusion="failure", sha="d" * 40, run_id=501, created=utcnow())
    body = json.dumps(payload).encode()
    response = await bot.http.post(
        "/webhooks/github", content=body, headers=github_headers(GITHUB_SECRET, body)
    )
    assert response.status_code in (200, 202), response.text


async def test_app_home_shows_each_person_only_what_is_theirs(db_url: str) -> None:
    async with home_bot(db_url) as bot:
        await incident(bot, "declare Checkout errors sev1", ALICE)
        await incident(bot, "declare Search is slow sev3", BOB)
        await agent_task(bot, ALICE, "Fix the flaky checkout test")
        await agent_task(
            bot, BOB, "Bump the search client", agent_models.COMPLETED, "https://gh.test/pr/7"
        )
        await standup_for(bot, "Platform daily", [ALICE], STANDUP)
        await red_ci_run(bot)
        await bot.settle()

        for user in (ALICE, BOB, CAROL):
            await bot.slack.app_home_opened(user)
        await bot.settle()

        alice, bob, carol = (home_of(bot, user) for user in (ALICE, BOB, CAROL))
        assert "Checkout errors" in alice and "Search is slow" not in alice
        assert "you are commander, reporter" in alice
        assert "Fix the flaky checkout test" in alice and "Bump the search client" not in alice
        assert '"action_id": "agents.cancel"' in alice  # Alice's task is still running
        assert "Platform daily" in alice and "waiting for your answer" in alice

        assert "Search is slow" in bob and "Checkout errors" not in bob
        assert "Bump the search client" in bob and "<https://gh.test/pr/7|Pull request>" in bob
        assert "agents.cancel" not in bob  # a finished task cannot be canceled
        assert "Platform daily" not in bob and "No standup for you today." in bob

        assert "No open incident involves you." in carol and "No agent tasks yet" in carol
        for home in (alice, bob, carol):  # routed CI is everyone's
            assert ":red_circle: octo-org/octo-repo `main` test: red since" in home
        assert "Times in Europe/Paris" in alice and "Times in America/Los_Angeles" in bob


async def test_home_is_redrawn_when_a_row_it_shows_changes_and_only_then(db_url: str) -> None:
    async with home_bot(db_url) as bot:
        await bot.slack.app_home_opened(ALICE)
        await bot.settle()
        assert "No open incident involves you." in home_of(bot, ALICE)
        assert publishes_for(bot, ALICE) == 1

        await bot.slack.app_home_opened(ALICE)  # unchanged, and Slack still has the view
        await bot.settle()
        assert publishes_for(bot, ALICE) == 1

        await incident(bot, "declare Search is slow sev3", BOB)  # not Alice's
        await bot.settle()
        assert publishes_for(bot, ALICE) == 1

        await incident(bot, "declare Payments failing sev1", ALICE)  # no job, no polling
        await bot.settle()
        assert "Payments failing" in home_of(bot, ALICE)
        after_incident = publishes_for(bot, ALICE)
        assert after_incident >= 2

        async with transaction(bot.rt.sessions) as session:
            opts = CodeRedOptions.from_settings(bot.rt.settings)
            form = codered.DeclareForm(
                level="red", focus="Stabilise payments", owner=ALICE, exit_criteria="No errors"
            )
            await codered.declare(session, opts, form, ALICE)
        await bot.settle()
        assert "Code red, level RED*: Stabilise payments" in home_of(bot, ALICE)
        assert publishes_for(bot, ALICE) > after_incident
        published = [
            json.dumps(call.args["view"], sort_keys=True)
            for call in bot.state.calls_to("views.publish")
            if call.args["user_id"] == ALICE
        ]
        # Each publish showed something new: a home drawn the same is never sent again.
        assert all(a != b for a, b in zip(published, published[1:], strict=False))
        assert publishes_for(bot, CAROL) == 0, "a home never opened is not published"


async def test_cancel_on_home_is_the_agent_features_and_checks_rights(db_url: str) -> None:
    async with home_bot(db_url) as bot:
        mine = await agent_task(bot, ALICE, "Rewrite the retry loop")
        await bot.slack.app_home_opened(ALICE)
        await bot.slack.app_home_opened(BOB)
        await bot.settle()
        alice_view = bot.state.home_views[ALICE].id

        # Bob forges a click on Alice's task from his own home: refused by the agent feature.
        bob_view = bot.state.home_views[BOB].id
        payload = bot.slack.build_block_action(BOB, "agents.cancel", str(mine), view=alice_view)
        payload["view"]["id"] = bob_view
        await bot.slack.interaction(payload)
        await bot.settle()
        async with bot.rt.sessions() as session:
            task = await session.get(AgentTask, mine)
            assert task is not None and task.state == agent_models.WORKING

        response = await bot.slack.block_action(ALICE, "agents.cancel", str(mine), view=alice_view)
        assert response.status_code == 200
        await bot.settle()
        async with bot.rt.sessions() as session:
            task = await session.get(AgentTask, mine)
            assert task is not None and task.state in (agent_models.CANCELING, "canceled")
            assert task.canceled_by == ALICE
        home = home_of(bot, ALICE)
        assert "agents.cancel" not in home and "Rewrite the retry loop" in home


async def test_home_without_a_view_in_slack_is_published_again(db_url: str) -> None:
    async with home_bot(db_url) as bot:
        await bot.slack.app_home_opened(CAROL)
        await bot.settle()
        del bot.state.home_views[CAROL]  # e.g. the app was reinstalled
        await bot.slack.app_home_opened(CAROL)
        await bot.settle()
        assert publishes_for(bot, CAROL) == 2 and "No open incident" in home_of(bot, CAROL)
