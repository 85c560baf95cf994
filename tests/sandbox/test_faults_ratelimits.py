from __future__ import annotations

import asyncio
import time

import pytest
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry.builtin_async_handlers import AsyncRateLimitErrorRetryHandler
from slack_sdk.web.async_client import AsyncWebClient

from bot.sandbox import Sandbox, SandboxState
from bot.sandbox.ratelimits import RATE_LIMITS, RateLimits


async def _fails(call: object) -> SlackApiError:
    with pytest.raises(SlackApiError) as info:
        await call  # type: ignore[misc]
    return info.value


async def test_ratelimited_fault_has_retry_after_and_no_effect(
    client: AsyncWebClient, state: SandboxState
) -> None:
    state.faults.fail_next("chat.postMessage", "ratelimited", retry_after=7)
    err = await _fails(client.chat_postMessage(channel="C0GENERAL", text="x"))
    assert err.response.status_code == 429
    assert err.response.headers["Retry-After"] == "7"
    assert err.response["error"] == "ratelimited"
    assert state.messages("C0GENERAL") == []
    ok = await client.chat_postMessage(channel="C0GENERAL", text="x")
    assert ok["ok"] and len(state.messages("C0GENERAL")) == 1
    assert [c.status for c in state.calls_to("chat.postMessage")] == [429, 200]
    assert state.calls_to("chat.postMessage")[0].fault == "ratelimited"


@pytest.mark.parametrize(
    ("status", "error"), [(None, "internal_error"), (503, "service_unavailable")]
)
async def test_server_error_fault(
    client: AsyncWebClient, state: SandboxState, status: int | None, error: str
) -> None:
    state.faults.fail_next("conversations.create", "server_error", status=status)
    err = await _fails(client.conversations_create(name="new-room"))
    assert err.response.status_code == (status or 500) and err.response["error"] == error
    assert state.channel_by_name("new-room") is None


async def test_slack_error_code_fault(client: AsyncWebClient, state: SandboxState) -> None:
    state.faults.fail_next("chat.postMessage", "channel_not_found", count=2)
    for _ in range(2):
        err = await _fails(client.chat_postMessage(channel="C0GENERAL", text="x"))
        assert err.response.status_code == 200 and err.response["error"] == "channel_not_found"
    assert state.faults.pending() == 0
    assert state.messages("C0GENERAL") == []


async def test_timeout_fault_has_no_effect(sandbox: Sandbox, state: SandboxState) -> None:
    impatient = AsyncWebClient(token="xoxb-test", base_url=sandbox.url, timeout=0.2)  # type: ignore[arg-type]
    state.faults.fail_next("chat.postMessage", "timeout", seconds=0.5)
    started = time.monotonic()
    with pytest.raises(asyncio.TimeoutError):
        await impatient.chat_postMessage(channel="C0GENERAL", text="x")
    assert time.monotonic() - started < 0.45
    await asyncio.sleep(0.4)
    assert state.messages("C0GENERAL") == []
    assert state.calls_to("chat.postMessage")[0].status == 504


async def test_timeout_after_effect_duplicates_on_retry(
    sandbox: Sandbox, state: SandboxState
) -> None:
    impatient = AsyncWebClient(token="xoxb-test", base_url=sandbox.url, timeout=0.2)  # type: ignore[arg-type]
    state.faults.fail_next("chat.postMessage", "timeout_after_effect", seconds=0.4)
    with pytest.raises(asyncio.TimeoutError):
        await impatient.chat_postMessage(channel="C0GENERAL", text="once")
    await impatient.chat_postMessage(channel="C0GENERAL", text="once")
    assert [m.text for m in state.messages("C0GENERAL")] == ["once", "once"]


async def test_slow_fault_delays_but_succeeds(client: AsyncWebClient, state: SandboxState) -> None:
    state.faults.fail_next("chat.postMessage", "slow", seconds=0.3)
    started = time.monotonic()
    resp = await client.chat_postMessage(channel="C0GENERAL", text="late")
    assert time.monotonic() - started >= 0.3
    assert resp["ok"] and state.messages("C0GENERAL")[0].text == "late"


async def test_wildcard_fault_hits_any_method(client: AsyncWebClient, state: SandboxState) -> None:
    state.faults.fail_next("*", "server_error")
    await _fails(client.users_info(user="U0BOB"))
    assert (await client.users_info(user="U0BOB"))["ok"]


async def test_random_faults_never_leave_partial_effects(
    client: AsyncWebClient, state: SandboxState
) -> None:
    state.faults.random(rate=0.5, kinds=("ratelimited", "server_error", "not_in_channel"), seed=7)
    succeeded = 0
    for i in range(40):
        try:
            await client.chat_postMessage(channel="C0GENERAL", text=f"m{i}")
            succeeded += 1
        except SlackApiError:
            pass
    assert 5 < succeeded < 35
    assert len(state.messages("C0GENERAL")) == succeeded
    faulted = [c for c in state.calls_to("chat.postMessage") if c.fault]
    assert len(faulted) == 40 - succeeded


async def test_random_faults_respect_methods_filter(
    client: AsyncWebClient, state: SandboxState
) -> None:
    state.faults.random(rate=1.0, kinds=("server_error",), seed=1, methods=["users.info"])
    assert (await client.auth_test())["ok"]
    await _fails(client.users_info(user="U0BOB"))
    state.faults.clear()
    assert (await client.users_info(user="U0BOB"))["ok"]


async def test_tier2_limit_answers_429_with_retry_after(
    client: AsyncWebClient, state: SandboxState
) -> None:
    state.rate_limits.enabled = True
    state.rate_limits.window_seconds = 0.6
    for i in range(20):
        await client.conversations_create(name=f"room-{i}")
    err = await _fails(client.conversations_create(name="room-20"))
    assert err.response.status_code == 429
    assert int(err.response.headers["Retry-After"]) >= 1
    assert state.channel_by_name("room-20") is None
    assert state.calls_to("conversations.create")[-1].status == 429
    await asyncio.sleep(0.65)
    assert (await client.conversations_create(name="room-20"))["ok"]


async def test_post_message_limit_is_per_channel(
    client: AsyncWebClient, state: SandboxState
) -> None:
    state.rate_limits.enabled = True
    state.rate_limits.window_seconds = 6.0  # postMessage window becomes 0.3 s
    burst = RATE_LIMITS["chat.postMessage"].limit
    for i in range(burst):
        await client.chat_postMessage(channel="C0GENERAL", text=f"{i}")
    err = await _fails(client.chat_postMessage(channel="C0GENERAL", text="too fast"))
    assert err.response.status_code == 429
    assert (await client.chat_postMessage(channel="C0INCIDENTS", text="other channel"))["ok"]
    await asyncio.sleep(0.35)
    assert (await client.chat_postMessage(channel="C0GENERAL", text="later"))["ok"]
    assert [m.text for m in state.messages("C0GENERAL")][-1] == "later"


async def test_sdk_retry_handler_recovers_from_429(sandbox: Sandbox, state: SandboxState) -> None:
    patient = AsyncWebClient(
        token="xoxb-test",
        base_url=sandbox.url,
        retry_handlers=[AsyncRateLimitErrorRetryHandler(max_retry_count=2)],
    )
    state.faults.fail_next("chat.postMessage", "ratelimited", retry_after=0)
    resp = await patient.chat_postMessage(channel="C0GENERAL", text="eventually")
    assert resp["ok"] and len(state.messages("C0GENERAL")) == 1


def test_rate_limits_off_by_default_and_unlisted_methods_use_default() -> None:
    limits = RateLimits(clock=lambda: 0.0)
    assert all(limits.check("users.info") is None for _ in range(500))
    limits.enabled = True
    assert limits.rule_for("something.new").limit == 50
    for _ in range(100):
        assert limits.check("users.info") is None
    assert limits.check("users.info") == 60


async def test_stop_does_not_wait_for_a_sleeping_fault() -> None:
    sandbox = await Sandbox().start()
    sandbox.state.faults.fail_next("auth.test", "timeout", seconds=30)
    client = AsyncWebClient(token="xoxb-test", base_url=sandbox.url)
    pending = asyncio.create_task(client.auth_test())
    await sandbox.state.wait_for(lambda: sandbox.state.calls_to("auth.test"))
    started = time.monotonic()
    await sandbox.stop()
    assert time.monotonic() - started < 1.0
    pending.cancel()
    with pytest.raises((asyncio.CancelledError, Exception)):
        await pending


async def test_reset_swaps_state_without_restart(sandbox: Sandbox, client: AsyncWebClient) -> None:
    await client.chat_postMessage(channel="C0GENERAL", text="before")
    old = sandbox.state
    fresh = sandbox.reset()
    assert fresh is sandbox.state and fresh is not old
    await client.chat_postMessage(channel="C0GENERAL", text="after")
    assert [m.text for m in fresh.messages("C0GENERAL")] == ["after"]
    assert [m.text for m in old.messages("C0GENERAL")] == ["before"]
