"""Demo act: two workspaces install the app, a CI breakage is routed to both, and an incident
in one is invisible from the other. It runs a bot of its own in OAuth mode (`play`), on its
own database and sandbox, since the other acts run with one bot token."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import httpx

from bot.core.db import utcnow
from bot.migrate import upgrade
from bot.sandbox import seed
from bot.sandbox.ci_samples import github_headers, workflow_run
from bot.sandbox.harness import PUBLIC_URL, BotUnderTest, running_bot
from bot.sandbox.server import Sandbox
from bot.sandbox.state import TEAM_ID

BETA, BEA, BETA_GENERAL = "T0BETA", "U0BEA", "C0BETAGEN"
SECRET = "demo-github-secret"
REPO = "octo-org/octo-repo"


def config() -> dict[str, Any]:
    """One deployment for two workspaces: the CI route names a channel in each."""
    return {
        "admins": [seed.ALICE],
        "github_webhook_secret": SECRET,
        "ci": {
            "routes": [
                {"repo": REPO, "channel": seed.CI_ALERTS, "team": TEAM_ID},
                {"repo": REPO, "channel": BETA_GENERAL, "team": BETA},
            ]
        },
    }


def add_beta(bot: BotUnderTest) -> None:
    state = bot.state
    state.add_workspace(BETA, "Beta Corp")
    state.add_user(BEA, "bea", email="bea@beta.example", team=BETA)
    beta_bot = state.workspace(BETA).bot_user_id
    state.add_channel("general", [BEA, beta_bot], id=BETA_GENERAL, team=BETA, is_general=True)


async def install(bot: BotUnderTest, team: str, out: list[str]) -> None:
    """An admin opens the install page, approves in Slack, and comes back to opsbot."""
    page = await bot.http.get(f"{PUBLIC_URL}/slack/install")
    start = page.text.split('<a href="', 1)[1].split('"', 1)[0].replace("&amp;", "&")
    async with httpx.AsyncClient() as browser:
        approved = await browser.get(f"{start}&{urlencode({'team': team})}")
    done = await bot.http.get(approved.headers["location"])
    name = bot.state.workspace(team).name
    out.append(f"an admin of {name} installs opsbot: -> HTTP {done.status_code}")


async def red_then_green(bot: BotUnderTest, out: list[str]) -> None:
    start = utcnow().replace(microsecond=0) - dt.timedelta(minutes=30)
    for conclusion, run_id, minute in (("failure", 7001, 0), ("success", 7002, 20)):
        payload = workflow_run(conclusion=conclusion, sha=f"{run_id:040x}", run_id=run_id,
                               created=start + dt.timedelta(minutes=minute), repo=REPO)  # fmt: skip
        body = json.dumps(payload).encode()
        answer = await bot.http.post(
            "/webhooks/github", content=body, headers=github_headers(SECRET, body)
        )
        out.append(f"GitHub: `test` {conclusion} on {REPO} main -> HTTP {answer.status_code}")
        await bot.settle(timeout=30)
        for channel in (seed.CI_ALERTS, BETA_GENERAL):
            card = bot.state.messages(channel)[-1]
            where = bot.state.workspace(bot.state.channels[channel].team_id).name
            out.append(f"  {where}'s card: {card.text.splitlines()[0][:80]}")


async def act(bot: BotUnderTest, out: list[str]) -> None:
    add_beta(bot)
    await install(bot, TEAM_ID, out)
    await install(bot, BETA, out)
    await red_then_green(bot, out)
    declared = await bot.slack.command(
        "/incident", "declare Payments timing out sev1", user=seed.ALICE, channel=seed.GENERAL
    )
    home = bot.state.workspace(TEAM_ID).name
    out.append(f"alice ({home}): /incident declare Payments timing out -> {declared.status_code}")
    await bot.settle(timeout=30)
    for user, channel, who in ((seed.ALICE, seed.GENERAL, "alice"), (BEA, BETA_GENERAL, "bea")):
        before = len(bot.state.ephemerals)
        await bot.slack.command("/incident", "list", user=user, channel=channel)
        shown = " ".join(e.text for e in bot.state.ephemerals[before:]).replace("\n", " ")
        out.append(f"{who}: /incident list -> {shown[:90]}")
    tokens = {
        bot.state.workspace(team).name: len({c.token for c in bot.state.calls_for(team)})
        for team in (TEAM_ID, BETA)
    }
    out.append(f"tokens used per workspace: {tokens}")


async def play(directory: Path, out: list[str]) -> None:
    """The act on a bot of its own, in OAuth mode, with a database in `directory`."""
    database_url = f"sqlite+aiosqlite:///{directory}/workspaces.db"
    upgrade(database_url)
    async with (
        Sandbox() as sandbox,
        running_bot(database_url, sandbox=sandbox, oauth=True, **config()) as bot,
    ):
        sandbox.state.valid_tokens = set()
        await act(bot, out)
