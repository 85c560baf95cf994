"""The sandbox plays Slack's side of an OAuth install: the authorize page, `oauth.v2.access`
as slack_sdk calls it, token rotation, and tokens that work until expired or revoked."""

from __future__ import annotations

from urllib.parse import parse_qs, urlencode, urlsplit

import httpx
import pytest
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.sandbox import Sandbox, SandboxState
from bot.sandbox.oauth import CLIENT_ID, CLIENT_SECRET, revoke_all

REDIRECT = "https://bot.example.com/slack/oauth_redirect"


async def _error(call: object) -> str:
    with pytest.raises(SlackApiError) as info:
        await call  # type: ignore[misc]
    return str(info.value.response["error"])


async def authorize(sandbox: Sandbox, **query: str) -> httpx.Response:
    params = {"client_id": CLIENT_ID, "scope": "chat:write,commands", "state": "s1",
              "redirect_uri": REDIRECT, **query}  # fmt: skip
    async with httpx.AsyncClient() as browser:
        return await browser.get(f"{sandbox.base}/oauth/v2/authorize?{urlencode(params)}")


async def code_for(sandbox: Sandbox) -> str:
    answer = await authorize(sandbox)
    assert answer.status_code == 302
    location = answer.headers["location"]
    assert location.startswith(REDIRECT + "?")
    query = parse_qs(urlsplit(location).query)
    assert query["state"] == ["s1"]
    return query["code"][0]


async def test_an_install_issues_a_bot_token_in_slacks_shape(sandbox: Sandbox) -> None:
    state: SandboxState = sandbox.state
    state.valid_tokens = set()
    code = await code_for(sandbox)
    app = AsyncWebClient(base_url=sandbox.url)
    answer = await app.oauth_v2_access(
        client_id=CLIENT_ID, client_secret=CLIENT_SECRET, code=code, redirect_uri=REDIRECT
    )
    assert answer["token_type"] == "bot" and answer["access_token"].startswith("xoxb-")
    assert answer["scope"] == "chat:write,commands"
    assert answer["bot_user_id"] == state.bot_user_id and answer["app_id"] == state.app_id
    assert answer["team"] == {"id": state.team_id, "name": state.team_name}
    assert answer["enterprise"] is None and answer["is_enterprise_install"] is False
    assert answer["authed_user"] == {"id": state.default_user}
    assert "refresh_token" not in answer.data

    bot = AsyncWebClient(token=answer["access_token"], base_url=sandbox.url)
    me = await bot.auth_test()
    assert (me["team_id"], me["user_id"], me["bot_id"]) == (
        state.team_id,
        state.bot_user_id,
        state.bot_id,
    )
    assert state.calls[-1].token == answer["access_token"]
    # A code is used once.
    again = app.oauth_v2_access(
        client_id=CLIENT_ID, client_secret=CLIENT_SECRET, code=code, redirect_uri=REDIRECT
    )
    assert await _error(again) == "invalid_code"
    revoke_all(state)
    assert await _error(bot.auth_test()) == "token_revoked"


async def test_the_exchange_checks_the_app_and_the_redirect(sandbox: Sandbox) -> None:
    app = AsyncWebClient(base_url=sandbox.url)
    code = await code_for(sandbox)
    wrong_secret = app.oauth_v2_access(client_id=CLIENT_ID, client_secret="x", code=code)
    assert await _error(wrong_secret) == "bad_client_secret"
    wrong_app = app.oauth_v2_access(client_id="1.2", client_secret=CLIENT_SECRET, code=code)
    assert await _error(wrong_app) == "invalid_client_id"
    elsewhere = app.oauth_v2_access(
        client_id=CLIENT_ID, client_secret=CLIENT_SECRET, code=code, redirect_uri="https://x/"
    )
    assert await _error(elsewhere) == "bad_redirect_uri"


async def test_the_authorize_page_refuses_and_cancels_like_slack(sandbox: Sandbox) -> None:
    assert (await authorize(sandbox, client_id="1.2")).status_code == 400
    assert (await authorize(sandbox, scope="")).status_code == 400
    sandbox.state.oauth.redirect_urls = ["https://bot.example.com/slack"]
    assert (await authorize(sandbox, redirect_uri="https://evil.example/")).status_code == 400
    assert (await authorize(sandbox)).status_code == 302  # a path below a configured URL
    sandbox.state.oauth.deny = True
    cancelled = await authorize(sandbox)
    assert parse_qs(urlsplit(cancelled.headers["location"]).query) == {
        "error": ["access_denied"],
        "state": ["s1"],
    }


async def test_rotating_tokens_expire_and_refresh(sandbox: Sandbox) -> None:
    state: SandboxState = sandbox.state
    state.oauth.token_rotation = True
    app = AsyncWebClient(base_url=sandbox.url)
    first = await app.oauth_v2_access(
        client_id=CLIENT_ID,
        client_secret=CLIENT_SECRET,
        code=await code_for(sandbox),
        redirect_uri=REDIRECT,
    )
    assert first["access_token"].startswith("xoxe.xoxb-1-")
    assert first["refresh_token"].startswith("xoxe-1-") and first["expires_in"] == 43200
    refreshed = await app.oauth_v2_access(
        client_id=CLIENT_ID,
        client_secret=CLIENT_SECRET,
        grant_type="refresh_token",
        refresh_token=first["refresh_token"],
    )
    assert refreshed["token_type"] == "bot"
    assert refreshed["access_token"] != first["access_token"]
    used = app.oauth_v2_access(
        client_id=CLIENT_ID,
        client_secret=CLIENT_SECRET,
        grant_type="refresh_token",
        refresh_token=first["refresh_token"],
    )
    assert await _error(used) == "invalid_refresh_token"

    state.oauth.tokens[first["access_token"]].expires_at = state.now() - 1
    expired = AsyncWebClient(token=first["access_token"], base_url=sandbox.url)
    assert await _error(expired.auth_test()) == "token_expired"
    fresh = AsyncWebClient(token=refreshed["access_token"], base_url=sandbox.url)
    assert (await fresh.auth_test())["ok"]
