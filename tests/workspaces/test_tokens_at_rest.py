"""OAuth installs' Slack tokens are encrypted at rest with OPSBOT_TOKEN_KEY: the install, a
token refresh and every call work from the encrypted rows; a rotated key still reads them; a
row stored before the key was set is read as it is (SQLite and PostgreSQL)."""

from __future__ import annotations

import pytest
from pydantic import SecretStr
from sqlalchemy import update

from bot.config import slack_mode_problems
from bot.core.installations import bots_table, installations_table
from bot.core.token_cipher import TokenKeyError, new_key
from bot.sandbox.harness import BotUnderTest, running_bot
from tests.workspaces.test_oauth_install_e2e import install, installed_token, rows

SECRETS = ("bot_token", "bot_refresh_token")


async def stored(bot: BotUnderTest) -> list[str]:
    values = []
    for table in (installations_table, bots_table):
        for row in await rows(bot, table):
            values += [row[name] for name in SECRETS]
    return values


async def test_tokens_are_encrypted_at_rest_and_used_as_before(db_url: str) -> None:
    old, new = new_key(), new_key()
    async with running_bot(db_url, oauth=True, opsbot_token_key=SecretStr(old)) as bot:
        bot.state.valid_tokens = set()
        oauth = bot.state.oauth
        oauth.token_rotation, oauth.token_seconds = True, 3600  # refreshed at first use
        page = await install(bot)
        assert page.status_code == 200
        first = installed_token(bot)
        at_rest = await stored(bot)
        assert len(at_rest) == 4 and all(value.startswith("gAAAAA") for value in at_rest)
        assert not any("xox" in value for value in at_rest)

        oauth.token_seconds = 43200
        await bot.slack.command("/incident", "")
        (opened,) = await bot.state.wait_for(lambda: bot.state.calls_to("views.open"))
        refreshed = [c for c in bot.state.calls_to("oauth.v2.access") if c.args.get("grant_type")]
        assert len(refreshed) == 1 and refreshed[0].ok
        assert refreshed[0].args["refresh_token"].startswith("xoxe-1-")  # sent decrypted
        fresh = refreshed[0].response["access_token"]
        assert fresh != first and opened.token == fresh and opened.ok
        assert not any("xox" in value for value in await stored(bot))

    # The key is rotated: the new one first; the old one still reads what it wrote.
    rotated = SecretStr(f"{new},{old}")
    async with running_bot(db_url, oauth=True, opsbot_token_key=rotated) as bot:
        with_rotated = await bot.rt.installations.find(None)  # type: ignore[union-attr]
        assert with_rotated is not None and with_rotated.bot_token == fresh

    # Without the key that wrote them, the tokens cannot be read, and the reason is said.
    async with running_bot(db_url, oauth=True, opsbot_token_key=SecretStr(new)) as bot:
        with pytest.raises(TokenKeyError, match="OPSBOT_TOKEN_KEY"):
            await bot.rt.installations.find(None)  # type: ignore[union-attr]


async def test_a_token_stored_before_the_key_was_set_is_read(db_url: str) -> None:
    async with running_bot(db_url, oauth=True) as bot:
        bot.state.valid_tokens = set()
        await install(bot)
        plain = installed_token(bot)
        assert plain in await stored(bot)
    async with running_bot(db_url, oauth=True, opsbot_token_key=SecretStr(new_key())) as bot:
        found = await bot.rt.installations.find(None)  # type: ignore[union-attr]
        assert found is not None and found.bot_token == plain
        async with bot.rt.engine.begin() as connection:  # a tampered value is not a token
            await connection.execute(update(bots_table).values(bot_token="gAAAAAforged"))
            await connection.execute(update(installations_table).values(bot_token=None))
        with pytest.raises(TokenKeyError):
            await bot.rt.installations.find(None)  # type: ignore[union-attr]


def test_a_bad_key_is_refused_with_its_setting_named() -> None:
    from bot.config import Settings
    from bot.sandbox.harness import SIGNING_SECRET

    settings = Settings(
        slack_client_id="1.2",
        slack_client_secret=SecretStr("s"),
        opsbot_public_url="https://opsbot.example",
        slack_signing_secret=SecretStr(SIGNING_SECRET),
        opsbot_token_key=SecretStr("not-a-key"),
    )
    (problem,) = slack_mode_problems(settings)
    assert problem.startswith("setting OPSBOT_TOKEN_KEY: each key must be 32 url-safe")
