"""A code red declared in one workspace is announced in the others its settings name
(`codered.workspaces`), each in its own announce channel, with its own token; its records stay
in the workspace that declared it (SQLite and PostgreSQL)."""

from __future__ import annotations

from sqlalchemy import select

from bot.codered.models import CodeRed, CodeRedSpan
from bot.sandbox.acts.workspaces import BEA, BETA, BETA_GENERAL, add_beta
from bot.sandbox.harness import BotUnderTest, running_bot
from bot.sandbox.seed import ALICE, BOB, GENERAL
from bot.sandbox.state import TEAM_ID
from tests.codered.helpers import codered, declare
from tests.workspaces.helpers import install_in

CONFIG = {
    "admins": [ALICE],
    "codered": {"announce_channel": GENERAL, "declarers": [BOB], "workspaces": [BETA]},
    "workspaces": {BETA: {"codered": {"announce_channel": BETA_GENERAL}}},
}


def announcements(bot: BotUnderTest, channel: str) -> list[str]:
    return [m.text for m in bot.state.messages(channel) if "code red" in m.text.lower()]


async def test_a_code_red_is_announced_in_the_workspaces_it_spans(db_url: str) -> None:
    async with running_bot(db_url, oauth=True, **CONFIG) as bot:
        add_beta(bot)
        bot.state.valid_tokens = set()
        home_token = await install_in(bot, TEAM_ID)
        beta_token = await install_in(bot, BETA)

        done = await declare(bot, user=ALICE)
        assert done is not None
        home, beta = announcements(bot, GENERAL), announcements(bot, BETA_GENERAL)
        assert len(home) == 1 and len(beta) == 1 and "Checkout errors" in beta[0]
        posted = [c for c in bot.state.calls_to("chat.postMessage") if c.ok]
        by_channel = {(c.args.get("channel"), c.token) for c in posted}
        assert (BETA_GENERAL, beta_token) in by_channel and (GENERAL, home_token) in by_channel
        assert (BETA_GENERAL, home_token) not in by_channel

        assert "resolved" in await codered(bot, "resolve Error rate back to normal")
        await bot.settle()
        assert any("resolved" in text for text in announcements(bot, BETA_GENERAL))

        # The code red is the declaring workspace's: Beta is told, it does not own it.
        async with bot.rt.sessions() as session:
            rows = (await session.execute(select(CodeRed.team_id))).scalars().all()
            spans = (await session.execute(select(CodeRedSpan.team_id))).scalars().all()
        assert rows == [TEAM_ID] and spans == [BETA]
        before = len(bot.state.ephemerals)
        await bot.slack.command("/codered", "status", user=BEA, channel=BETA_GENERAL)
        shown = " ".join(e.text for e in bot.state.ephemerals[before:])
        assert "Checkout errors" not in shown
