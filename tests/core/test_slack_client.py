"""The Slack client factory: SLACK_API_URL and retries for rate limits and transient failures."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from slack_sdk.errors import SlackApiError

from bot.core.slack import make_client
from bot.sandbox import seed
from bot.sandbox.server import Sandbox


@pytest.fixture
async def sandbox() -> AsyncIterator[Sandbox]:
    async with Sandbox() as running:
        yield running


@pytest.mark.parametrize("fault", ["ratelimited", "server_error"])
async def test_client_retries_a_transient_failure(sandbox: Sandbox, fault: str) -> None:
    client = make_client("xoxb-test", sandbox.url)
    sandbox.state.faults.fail_next("users.info", fault, retry_after=1)
    response = await client.users_info(user=seed.BOB)
    assert response["user"]["id"] == seed.BOB
    statuses = [call.status for call in sandbox.state.calls_to("users.info")]
    assert statuses == [429 if fault == "ratelimited" else 500, 200]


async def test_client_gives_up_after_its_retries(sandbox: Sandbox) -> None:
    client = make_client("xoxb-test", sandbox.url)
    sandbox.state.faults.fail_next("users.info", "server_error", count=5)
    with pytest.raises(SlackApiError):
        await client.users_info(user=seed.BOB)
    assert len(sandbox.state.calls_to("users.info")) == 3  # the call and two retries


async def test_client_without_handlers_never_retries(sandbox: Sandbox) -> None:
    client = make_client("xoxb-test", sandbox.url, handlers=[])
    sandbox.state.faults.fail_next("chat.postMessage", "server_error")
    with pytest.raises(SlackApiError):
        await client.chat_postMessage(channel=seed.GENERAL, text="once")
    assert len(sandbox.state.calls_to("chat.postMessage")) == 1
    assert sandbox.state.messages(seed.GENERAL) == []


async def test_client_uses_the_configured_api_url_without_trailing_slash(sandbox: Sandbox) -> None:
    client = make_client("xoxb-test", sandbox.url.rstrip("/"))
    assert (await client.auth_test())["user_id"] == sandbox.state.bot_user_id
