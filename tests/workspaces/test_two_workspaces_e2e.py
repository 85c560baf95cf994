"""Two workspaces install the app through the real OAuth routes and use one deployment, on
SQLite and PostgreSQL: each is served with its own token, sees only its own records, gets its
own card of a CI breakage routed to both, and an uninstall stops one and not the other."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

from sqlalchemy import func, select

from bot.ci.models import CiBreakagePost
from bot.core.departures import INCLUDE_DEPARTED
from bot.core.projector import Projection
from bot.incidents.models import Incident, TimelineEntry
from bot.sandbox.acts import workspaces as beta
from bot.sandbox.acts.workspaces import BEA, BETA, BETA_GENERAL
from bot.sandbox.ci_samples import github_headers, workflow_run
from bot.sandbox.harness import BotUnderTest, running_bot
from bot.sandbox.seed import ALICE, GENERAL
from bot.sandbox.state import TEAM_ID
from tests.workspaces.helpers import install_in, rows_without_a_workspace, say

GITHUB_SECRET = "github-secret"
REPO = "octo-org/octo-repo"
CONFIG: dict[str, Any] = {
    "github_webhook_secret": GITHUB_SECRET,
    "ci": {
        "routes": [
            {"repo": REPO, "channel": "C0CI", "team": TEAM_ID},
            {"repo": REPO, "channel": BETA_GENERAL, "team": BETA},
        ]
    },
}


def add_beta(bot: BotUnderTest) -> None:
    """The demo's second workspace (Beta Corp, bea and its #general), and #ci at home."""
    beta.add_beta(bot)
    bot.state.add_channel("ci", [ALICE, bot.state.bot_user_id], id="C0CI")


async def webhook(bot: BotUnderTest, conclusion: str, run_id: int, minute: int) -> None:
    created = dt.datetime.now(dt.UTC).replace(microsecond=0) - dt.timedelta(minutes=90 - minute)
    payload = workflow_run(conclusion=conclusion, sha=f"{run_id:040x}", run_id=run_id,
                           created=created, repo=REPO)  # fmt: skip
    body = json.dumps(payload).encode()
    answer = await bot.http.post(
        "/webhooks/github", content=body, headers=github_headers(GITHUB_SECRET, body)
    )
    assert answer.status_code == 202, answer.text
    await bot.settle()


def tokens_of_calls_in(bot: BotUnderTest, channels: set[str]) -> set[str]:
    return {
        call.token or ""
        for call in bot.state.calls
        if str((call.args or {}).get("channel", "")) in channels
    }


async def test_two_workspaces_each_see_their_own_and_are_served_with_their_own_token(
    db_url: str,
) -> None:
    async with running_bot(db_url, oauth=True, **CONFIG) as bot:
        add_beta(bot)
        bot.state.valid_tokens = set()  # only installed tokens work
        home_token = await install_in(bot, TEAM_ID)
        beta_token = await install_in(bot, BETA)
        assert home_token != beta_token

        assert "declared" in (await say(bot, "declare Checkout down sev2", ALICE, GENERAL)).lower()
        assert "declared" in (await say(bot, "declare Queue stuck sev1", BEA, BETA_GENERAL)).lower()

        async with bot.rt.sessions() as session:
            rows = (await session.execute(select(Incident.title, Incident.team_id))).all()
        assert sorted(rows) == [("Checkout down", TEAM_ID), ("Queue stuck", BETA)]

        # Listings: each workspace sees its own incident, never the other's.
        alice_sees = await say(bot, "list", ALICE, GENERAL)
        bea_sees = await say(bot, "list", BEA, BETA_GENERAL)
        assert "Checkout down" in alice_sees and "Queue stuck" not in alice_sees
        assert "Queue stuck" in bea_sees and "Checkout down" not in bea_sees
        # Numbers are the workspace's own: #1 typed in Beta is Beta's #1, never home's.
        async with bot.rt.sessions() as session:
            home_key = await session.scalar(select(Incident.id).where(Incident.team_id == TEAM_ID))
        answer = await say(bot, "note #1 from beta", BEA, BETA_GENERAL)
        assert "Checkout down" not in answer and "#1" in answer
        async with bot.rt.sessions() as session:
            noted = await session.scalars(
                select(Incident.team_id)
                .join(TimelineEntry, TimelineEntry.incident_id == Incident.id)
                .where(TimelineEntry.text.contains("beta"))
            )
            assert list(noted) == [BETA]
            written_on_home = await session.scalar(
                select(func.count(TimelineEntry.id)).where(
                    TimelineEntry.text.contains("beta"), TimelineEntry.incident_id == home_key
                )
            )
        assert written_on_home == 0

        # Every Web API call about a workspace's channels carried that workspace's token.
        beta_channels = {c.id for c in bot.state.channels.values() if c.team_id == BETA}
        home_channels = {c.id for c in bot.state.channels.values() if c.team_id == TEAM_ID}
        assert tokens_of_calls_in(bot, beta_channels) == {beta_token}
        assert tokens_of_calls_in(bot, home_channels) == {home_token}
        refused = [c for c in bot.state.calls if not c.ok and c.error == "channel_not_found"]
        assert refused == []

        # One CI breakage, routed to a channel in each workspace: a card in each.
        await webhook(bot, "success", 1, 0)
        await webhook(bot, "failure", 2, 10)
        home_card = bot.state.messages("C0CI")
        beta_card = [m for m in bot.state.messages(BETA_GENERAL) if "is red" in m.text]
        assert len(home_card) == 1 and len(beta_card) == 1
        assert tokens_of_calls_in(bot, {"C0CI"}) == {home_token}
        assert tokens_of_calls_in(bot, {BETA_GENERAL}) == {beta_token}
        await webhook(bot, "success", 3, 30)
        # Both cards are updated in place.
        for channel, card in (("C0CI", home_card[0]), (BETA_GENERAL, beta_card[0])):
            [now] = [m for m in bot.state.messages(channel) if m.ts == card.ts]
            assert "green again" in now.text, (channel, now.text)
        async with bot.rt.sessions() as session:
            posts = (await session.execute(select(CiBreakagePost.team_id))).scalars().all()
        assert sorted(posts) == sorted([TEAM_ID, BETA])

        # In OAuth mode nothing is written outside a workspace.
        assert await rows_without_a_workspace(bot) == {}


async def test_uninstalling_one_workspace_stops_its_work_and_not_the_others(
    db_url: str,
) -> None:
    async with running_bot(db_url, oauth=True, **CONFIG) as bot:
        add_beta(bot)
        bot.state.valid_tokens = set()
        home_token = await install_in(bot, TEAM_ID)
        await install_in(bot, BETA)
        await say(bot, "declare Checkout down sev2", ALICE, GENERAL)
        await say(bot, "declare Queue stuck sev1", BEA, BETA_GENERAL)

        answers = await bot.slack.uninstall_app(team=BETA)
        assert all(answer.status_code == 200 for answer in answers)
        async with bot.rt.sessions() as session:
            views = (
                await session.execute(
                    select(Projection.team_id, Projection.status),
                    execution_options={INCLUDE_DEPARTED: True},
                )
            ).all()
        assert {status for team, status in views if team == BETA} == {"stopped"}
        assert {status for team, status in views if team == TEAM_ID} == {"active"}

        # The other workspace carries on, with its own token.
        before = len(bot.state.calls)
        await say(bot, "update #1 rolled back the deploy", ALICE, GENERAL)
        since = bot.state.calls[before:]
        assert since and {call.token for call in since} == {home_token}
        # The uninstalled one's records are kept (retention) but not acted on.
        async with bot.rt.sessions() as session:
            kept = (
                await session.execute(
                    select(Incident.title), execution_options={INCLUDE_DEPARTED: True}
                )
            ).scalars()
            assert sorted(kept) == ["Checkout down", "Queue stuck"]
        assert all(call.token != "" and call.ok for call in since if call.method != "auth.test"), [
            (c.method, c.error) for c in since
        ]


async def test_each_installer_is_told_the_next_steps_in_slack(db_url: str) -> None:
    async with running_bot(db_url, oauth=True, **CONFIG) as bot:
        add_beta(bot)
        bot.state.valid_tokens = set()
        home_token = await install_in(bot, TEAM_ID)
        beta_token = await install_in(bot, BETA)
        await bot.settle()
        for installer, token, team in ((ALICE, home_token, "Sandbox"), (BEA, beta_token, "Beta")):
            channel = bot.state.im_with(installer)
            assert channel is not None, installer
            [welcome] = bot.state.messages(channel.id)
            assert f"opsbot is installed in {team}" in welcome.text
            assert "/invite @opsbot" in welcome.text and "/ops help" in welcome.text
            sent = [
                c
                for c in bot.state.calls_to("chat.postMessage")
                if c.args.get("channel") == channel.id
            ]
            assert [c.token for c in sent] == [token]
