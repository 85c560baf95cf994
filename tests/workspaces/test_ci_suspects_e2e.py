"""The suspects of a CI breakage posted in two workspaces installed by OAuth, on SQLite and
PostgreSQL: each workspace's card thread mentions that workspace's user for the commit author
(found with that workspace's token, or named by that workspace's `ci.authors`), never the
other's."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

from sqlalchemy import select

from bot.ci.models import CiAuthor
from bot.sandbox.acts.workspaces import BETA, BETA_GENERAL
from bot.sandbox.ci_samples import github_headers, workflow_run
from bot.sandbox.harness import BotUnderTest, running_bot
from bot.sandbox.seed import ALICE, BOB
from bot.sandbox.state import TEAM_ID
from tests.workspaces.helpers import install_in, rows_without_a_workspace
from tests.workspaces.test_two_workspaces_e2e import CONFIG, GITHUB_SECRET, REPO, add_beta

# The same people in Beta Corp: one email each, another user id there.
BETA_ALICE, BETA_BOB = "U0BALICE", "U0BBOB"
ALICE_EMAIL, BOB_EMAIL = "alice@example.com", "bob@example.com"
# Beta names Bob itself, so only the home workspace asks Slack who he is.
BETA_AUTHORS: dict[str, Any] = {BETA: {"ci": {"authors": {BOB_EMAIL: BETA_BOB}}}}


async def red_run(bot: BotUnderTest, run_id: int, workflow: str, name: str, email: str) -> None:
    created = dt.datetime.now(dt.UTC).replace(microsecond=0) - dt.timedelta(minutes=30)
    payload = workflow_run(conclusion="failure", sha=f"{run_id:040x}", run_id=run_id,
                           created=created, repo=REPO, workflow=workflow,
                           author_name=name, author_email=email)  # fmt: skip
    body = json.dumps(payload).encode()
    answer = await bot.http.post(
        "/webhooks/github", content=body, headers=github_headers(GITHUB_SECRET, body)
    )
    assert answer.status_code == 202, answer.text
    await bot.settle()


def thread_of(bot: BotUnderTest, channel: str, workflow: str) -> str:
    """Everything in the thread of the card of `workflow`'s breakage in `channel`."""
    [card] = [m for m in bot.state.messages(channel) if f"{workflow} is failing" in m.text]
    return "\n".join(reply.text for reply in bot.state.replies(channel, card.ts))


async def test_each_workspace_mentions_its_own_user_for_a_suspect(db_url: str) -> None:
    async with running_bot(db_url, oauth=True, **CONFIG, workspaces=BETA_AUTHORS) as bot:
        add_beta(bot)
        bot.state.add_user(BETA_ALICE, "alice", email=ALICE_EMAIL, team=BETA)
        bot.state.add_user(BETA_BOB, "bob", email=BOB_EMAIL, team=BETA)
        bot.state.valid_tokens = set()  # only installed tokens work
        home_token = await install_in(bot, TEAM_ID)
        beta_token = await install_in(bot, BETA)

        await red_run(bot, 1, "test", "Alice", ALICE_EMAIL)
        await red_run(bot, 2, "lint", "Bob", BOB_EMAIL)

        home_test, beta_test = thread_of(bot, "C0CI", "test"), thread_of(bot, BETA_GENERAL, "test")
        assert f"<@{ALICE}>" in home_test and f"<@{BETA_ALICE}>" not in home_test
        assert f"<@{BETA_ALICE}>" in beta_test and f"<@{ALICE}>" not in beta_test
        home_lint, beta_lint = thread_of(bot, "C0CI", "lint"), thread_of(bot, BETA_GENERAL, "lint")
        assert f"<@{BOB}>" in home_lint and f"<@{BETA_BOB}>" not in home_lint
        assert f"<@{BETA_BOB}>" in beta_lint and f"<@{BOB}>" not in beta_lint

        # Each lookup was asked with the token of the workspace it was for, and answered.
        lookups = bot.state.calls_to("users.lookupByEmail")
        assert all(call.ok for call in lookups), [(c.token, c.error) for c in lookups]
        asked = sorted((call.token, call.args["email"]) for call in lookups)
        assert asked == sorted(
            [(home_token, ALICE_EMAIL), (beta_token, ALICE_EMAIL), (home_token, BOB_EMAIL)]
        )
        # The answers are kept for the workspace that got them, nothing outside one.
        async with bot.rt.sessions() as session:
            cached = (
                await session.execute(select(CiAuthor.team_id, CiAuthor.email, CiAuthor.slack_user))
            ).all()
        assert sorted(cached) == sorted(
            [
                (TEAM_ID, ALICE_EMAIL, ALICE),
                (BETA, ALICE_EMAIL, BETA_ALICE),
                (TEAM_ID, BOB_EMAIL, BOB),
            ]
        )
        assert await rows_without_a_workspace(bot) == {}
