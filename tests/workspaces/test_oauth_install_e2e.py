"""Installing the app by OAuth, end to end: the real web app, signed requests and the sandbox
playing Slack's authorize page and `oauth.v2.access`, on SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt
import html
import re
import time
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from sqlalchemy import func, select

from bot.config import BOT_SCOPES
from bot.core.installations import bots_table, installations_table, oauth_states_table
from bot.sandbox.harness import PUBLIC_URL, BotUnderTest, running_bot

REDIRECT_URI = f"{PUBLIC_URL}/slack/oauth_redirect"


async def add_to_slack(bot: BotUnderTest) -> tuple[str, dict[str, list[str]]]:
    """The install page's "Add to Slack" link, and its query."""
    page = await bot.http.get(f"{PUBLIC_URL}/slack/install")
    assert page.status_code == 200, page.text
    assert page.headers["content-type"].startswith("text/html")
    assert "Add to Slack" in page.text
    found = re.search(r'<a href="([^"]+)"', page.text)
    assert found, page.text
    link = html.unescape(found.group(1))
    return link, parse_qs(urlsplit(link).query)


async def approve(link: str) -> str:
    """The installer's browser on Slack's authorize page (the sandbox): where it is sent back."""
    async with httpx.AsyncClient() as browser:
        answer = await browser.get(link)
    assert answer.status_code == 302, answer.text
    return answer.headers["location"]


async def install(bot: BotUnderTest) -> httpx.Response:
    link, _query = await add_to_slack(bot)
    return await bot.http.get(await approve(link))


async def rows(bot: BotUnderTest, table) -> list:  # type: ignore[no-untyped-def]
    async with bot.rt.engine.connect() as connection:
        return list((await connection.execute(select(table))).mappings())


async def count(bot: BotUnderTest, table) -> int:  # type: ignore[no-untyped-def]
    async with bot.rt.engine.connect() as connection:
        return int((await connection.execute(select(func.count()).select_from(table))).scalar())


def installed_token(bot: BotUnderTest) -> str:
    (issued,) = bot.state.oauth.installed_tokens()
    return issued.token


async def test_install_page_links_to_slack_with_the_apps_request(db_url: str) -> None:
    async with running_bot(db_url, oauth=True) as bot:
        link, query = await add_to_slack(bot)
        assert link.startswith(f"{bot.sandbox.base}/oauth/v2/authorize?")
        assert query["client_id"] == [bot.state.oauth.client_id]
        assert query["scope"][0].split(",") == list(BOT_SCOPES)
        assert query["redirect_uri"] == [REDIRECT_URI]
        (state,) = query["state"]
        assert [row["state"] for row in await rows(bot, oauth_states_table)] == [state]


async def test_install_stores_the_workspace_and_shows_next_steps(db_url: str) -> None:
    async with running_bot(db_url, oauth=True) as bot:
        bot.state.valid_tokens = set()  # only tokens the install issues work
        page = await install(bot)
        assert page.status_code == 200, page.text
        assert "opsbot is installed" in page.text and "Sandbox" in page.text
        assert "/invite @opsbot" in page.text and "/ops help" in page.text

        token = installed_token(bot)
        (row,) = await rows(bot, installations_table)
        assert row["team_id"] == bot.state.team_id
        assert row["team_name"] == bot.state.team_name
        assert row["bot_token"] == token
        assert row["bot_user_id"] == bot.state.bot_user_id
        assert row["bot_id"] == bot.state.bot_id
        assert row["bot_scopes"].split(",") == list(BOT_SCOPES)
        assert row["user_id"] == bot.state.default_user
        assert row["client_id"] == bot.state.oauth.client_id
        assert await count(bot, bots_table) == 1
        assert await count(bot, oauth_states_table) == 0  # the state was used up

        (exchange,) = bot.state.calls_to("oauth.v2.access")
        assert exchange.ok and exchange.args["redirect_uri"] == REDIRECT_URI
        assert "client_secret" not in exchange.args  # never kept in the sandbox's record


async def test_a_reused_or_unknown_state_is_refused_and_stores_nothing(db_url: str) -> None:
    async with running_bot(db_url, oauth=True) as bot:
        link, _query = await add_to_slack(bot)
        back = await approve(link)
        assert (await bot.http.get(back)).status_code == 200

        again = await bot.http.get(back)  # the same redirect a second time
        assert again.status_code in (400, 401)
        assert "opsbot was not installed" in again.text
        assert "Start the installation again" in again.text
        assert await count(bot, installations_table) == 1

    async with running_bot(db_url, oauth=True) as bot:
        link, query = await add_to_slack(bot)
        forged = (await approve(link)).replace(query["state"][0], "not-a-state-we-issued")
        refused = await bot.http.get(forged)
        assert refused.status_code in (400, 401)
        assert "nothing was installed" in refused.text
        assert bot.state.calls_to("oauth.v2.access") == []


async def test_a_state_from_another_browser_is_refused(db_url: str) -> None:
    async with running_bot(db_url, oauth=True) as bot:
        link, _query = await add_to_slack(bot)
        back = await approve(link)
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=bot.rt.web), base_url=PUBLIC_URL
        ) as stranger:  # no cookie from the install page
            refused = await stranger.get(back)
        assert refused.status_code == 400
        assert "not reached from the installation this browser started" in refused.text
        assert await count(bot, installations_table) == 0
        assert await count(bot, oauth_states_table) == 1  # still usable by its own browser


async def test_a_cancelled_install_says_so(db_url: str) -> None:
    async with running_bot(db_url, oauth=True) as bot:
        bot.state.oauth.deny = True
        page = await install(bot)
        assert "cancelled" in page.text and "nothing was installed" in page.text
        assert await count(bot, installations_table) == 0


async def test_requests_from_the_installed_team_use_its_token(db_url: str) -> None:
    async with running_bot(db_url, oauth=True) as bot:
        bot.state.valid_tokens = set()
        await install(bot)
        token = installed_token(bot)
        installed_at = len(bot.state.calls)

        await bot.slack.command("/incident", "")  # answered with a form: views.open
        opened = await bot.state.wait_for(lambda: bot.state.calls_to("views.open"))
        assert [call.token for call in opened] == [token]
        assert opened[0].ok

        await bot.slack.app_home_opened(bot.state.default_user)  # an event, run by the workers
        await bot.settle()
        published = bot.state.calls_to("views.publish")
        assert published and {call.token for call in published} == {token}
        assert all(call.ok for call in published)
        # Bolt's authorization (auth.test, once per token), the workers' identity, the views:
        # every call since the install carries the installed token.
        since = bot.state.calls[installed_at:]
        assert {call.token for call in since} == {token}
        assert [c.method for c in since].count("auth.test") <= 2


async def test_an_event_from_a_team_without_installation_is_not_kept(db_url: str) -> None:
    async with running_bot(db_url, oauth=True) as bot:
        bot.state.team_id = "T0NOTINSTALLED"
        await bot.slack.app_home_opened(bot.state.default_user)
        await bot.settle()
        assert bot.state.calls_to("views.publish") == []
        from bot.core.tasks import Task

        async with bot.rt.sessions() as session:
            assert await session.scalar(select(func.count()).select_from(Task)) == 0


async def test_uninstall_deletes_the_workspaces_rows(db_url: str) -> None:
    async with running_bot(db_url, oauth=True) as bot:
        await install(bot)
        assert await count(bot, installations_table) == 1
        answers = await bot.slack.uninstall_app()
        assert [answer.status_code for answer in answers] == [200, 200]
        assert await count(bot, installations_table) == 0
        assert await count(bot, bots_table) == 0

        # The workspace is gone: its events are not served, the workers have no token.
        before = len(bot.state.calls)
        await bot.slack.app_home_opened(bot.state.default_user)
        await bot.settle()
        assert bot.state.calls_to("views.publish") == []
        assert bot.rt.installations is not None
        assert await bot.rt.installations.bot_token() is None
        assert all(call.method == "auth.test" for call in bot.state.calls[before:])


async def test_an_install_survives_another_time_zone(
    db_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """slack_sdk's columns are naive: what it writes and reads back is UTC whatever the
    process's zone, so a stored expiry and a state's lifetime mean the same instant."""
    monkeypatch.setenv("TZ", "Pacific/Kiritimati")  # UTC+14
    time.tzset()
    try:
        async with running_bot(db_url, oauth=True) as bot:
            bot.state.oauth.token_rotation = True
            page = await install(bot)  # a state issued and consumed in the same zone
            assert page.status_code == 200, page.text
            (row,) = await rows(bot, installations_table)
            expires = bot.state.oauth.tokens[row["bot_token"]].expires_at
            assert expires is not None
            stored = row["bot_token_expires_at"].replace(tzinfo=dt.UTC).timestamp()
            assert abs(stored - expires) <= 3
            assert abs(row["installed_at"].replace(tzinfo=dt.UTC).timestamp() - time.time()) < 60
    finally:
        monkeypatch.undo()
        time.tzset()


async def test_expiring_tokens_are_refreshed_and_kept_in_utc(db_url: str) -> None:
    """Token rotation: the install stores the refresh token and the expiry; a token with less
    than two hours left is exchanged (`grant_type=refresh_token`) before it is used."""
    async with running_bot(db_url, oauth=True) as bot:
        bot.state.valid_tokens = set()
        oauth = bot.state.oauth
        oauth.token_rotation, oauth.token_seconds = True, 3600  # an hour: refresh it now
        await install(bot)
        first = installed_token(bot)
        assert first.startswith("xoxe.xoxb-")
        (row,) = await rows(bot, installations_table)
        assert row["bot_refresh_token"].startswith("xoxe-1-")
        expires = oauth.tokens[first].expires_at
        assert expires is not None
        # Naive, and UTC whatever the database's or the process's zone.
        stored = row["bot_token_expires_at"]
        assert stored.tzinfo is None
        assert abs(stored.replace(tzinfo=dt.UTC).timestamp() - expires) <= 3  # whole seconds

        oauth.token_seconds = 43200  # the refreshed token lives 12 hours
        await bot.slack.command("/incident", "")
        opened = await bot.state.wait_for(lambda: bot.state.calls_to("views.open"))
        refreshes = [
            call
            for call in bot.state.calls_to("oauth.v2.access")
            if call.args.get("grant_type") == "refresh_token"
        ]
        assert len(refreshes) == 1 and refreshes[0].ok
        fresh = refreshes[0].response["access_token"]
        assert fresh != first and opened[0].token == fresh and opened[0].ok
        (row,) = await rows(bot, installations_table)
        assert row["bot_token"] == fresh
        assert row["bot_refresh_token"] == refreshes[0].response["refresh_token"]
        (bot_row,) = await rows(bot, bots_table)
        assert bot_row["bot_token"] == fresh
