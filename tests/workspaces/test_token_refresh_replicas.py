"""Two replicas on one database and a bot token about to expire: the token is refreshed once,
and both go on with the fresh one (a refresh token works once; SQLite and PostgreSQL)."""

from __future__ import annotations

import asyncio

from bot.core import workspaces
from bot.core.installations import installations_table
from bot.sandbox.harness import BotUnderTest, running_bot
from bot.sandbox.state import TEAM_ID
from tests.workspaces.test_oauth_install_e2e import install, installed_token, rows


def refreshes(bot: BotUnderTest) -> list:  # type: ignore[type-arg]
    return [
        call
        for call in bot.state.calls_to("oauth.v2.access")
        if call.args.get("grant_type") == "refresh_token"
    ]


async def token_of(bot: BotUnderTest) -> str | None:
    with workspaces.within(workspaces.Workspace(TEAM_ID)):
        return await bot.rt.installations.bot_token()  # type: ignore[union-attr]


async def test_replicas_refresh_an_expiring_token_once(db_url: str) -> None:
    async with (
        running_bot(db_url, oauth=True) as one,
        running_bot(db_url, oauth=True, sandbox=one.sandbox) as two,
    ):
        one.state.valid_tokens = set()
        oauth = one.state.oauth
        oauth.token_rotation, oauth.token_seconds = True, 3600  # an hour: refresh before use
        await install(one)
        first = installed_token(one)
        oauth.token_seconds = 43200

        # Both replicas' workers and front doors want the token at the same moment.
        tokens = await asyncio.gather(
            token_of(one),
            token_of(two),
            one.slack.command("/incident", ""),
            two.slack.command("/incident", ""),
            token_of(two),
        )
        opened = await one.state.wait_for(
            lambda: calls if len(calls := one.state.calls_to("views.open")) >= 2 else None
        )

        done = refreshes(one)
        assert len(done) == 1, [(call.ok, call.response) for call in done]
        assert done[0].ok
        fresh = done[0].response["access_token"]
        assert fresh != first
        assert [tokens[0], tokens[1], tokens[4]] == [fresh, fresh, fresh]
        assert [call.token for call in opened] == [fresh, fresh]
        assert all(call.ok for call in opened)
        (row,) = await rows(one, installations_table)
        assert row["bot_token"] == fresh
        assert row["bot_refresh_token"] == done[0].response["refresh_token"]
