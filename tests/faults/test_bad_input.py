"""Generated bad input: never a 500, never a row from a refusal, always a reason."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import strategies as st

from bot.sandbox import seed
from bot.sandbox.harness import running_bot
from tests.examples import examples
from tests.faults.scenes import CONFIG, GITHUB_SECRET
from tests.rows import row_counts

WORDS = st.sampled_from([
    "declare", "status", "sev", "role", "update", "note", "resolve", "list", "history", "mute",
    "run", "create", "edit", "pause", "skip", "stats", "level", "loan", "digest", "activity",
    "#42", "42", "sev9", "25:00", "<@U0BOB>", "<!channel>", "<#C0GENERAL|general>", "repo=x/y",
    "attempts=9", "tz=Mars/Olympus", '"', "'", "\\", "\u202e", "🔥", "--", "=", "0", "-1",
])  # fmt: skip
COMMAND_TEXT = st.lists(st.one_of(WORDS, st.text(max_size=12)), max_size=5).map(" ".join)


def assert_no_listener_crashed(caplog: pytest.LogCaptureFixture) -> None:
    """The app answers a crash politely; the test still wants to know it happened."""
    crashes = [r.getMessage() for r in caplog.records if "listener failed" in r.getMessage()]
    assert crashes == []


async def test_generated_slash_command_text(db_url: str, caplog: pytest.LogCaptureFixture) -> None:
    async with running_bot(db_url, **CONFIG) as bot:
        commands = [usage.command for usage in bot.rt.commands.all()]
        for text in examples(COMMAND_TEXT, 40):
            for command in commands:
                response = await bot.slack.command(command, text, user=seed.BOB,
                                                   channel=seed.GENERAL)  # fmt: skip
                assert response.status_code == 200, (command, text, response.text)
                body = response.text.strip()
                assert body, f"{command} {text!r} answered nothing"
        await bot.settle(timeout=60)
    assert_no_listener_crashed(caplog)


def interaction(kind: str, action_id: str, value: str, response_url: str) -> dict[str, Any]:
    user = {"id": seed.BOB, "username": "bob", "team_id": "T0SANDBOX"}
    base = {"type": kind, "user": user, "team": {"id": "T0SANDBOX"}, "api_app_id": "A0OPSBOT",
            "token": "x", "trigger_id": "1.2.3"}  # fmt: skip
    if kind == "block_actions":
        # Slack's shapes (a select carries selected_option; a message action a response_url);
        # only the values are made up.
        is_select = action_id.endswith(("set_status", "set_severity"))
        action: dict[str, Any] = {"action_id": action_id, "block_id": "b", "action_ts": "1.2"}
        if is_select:
            action |= {"type": "static_select", "selected_option": {"value": value}}
        else:
            action |= {"type": "button", "value": value}
        return {**base, "actions": [action], "channel": {"id": seed.GENERAL},
                "container": {"type": "message", "channel_id": seed.GENERAL},
                "response_url": response_url}  # fmt: skip
    return {**base, "view": {"id": "V1", "type": "modal", "callback_id": action_id,
                             "private_metadata": value,
                             "state": {"values": {"b": {"a": {"type": "plain_text_input",
                                                              "value": value}}}}}}  # fmt: skip


async def test_generated_interactions(db_url: str, caplog: pytest.LogCaptureFixture) -> None:
    async with running_bot(db_url, **CONFIG) as bot:
        known = sorted({
            "incidents.take_role.commander", "incidents.set_status", "incidents.set_severity",
            "incidents.snooze", "incidents.declare", "agents.cancel", "agents.show_context",
            "agents.send", "standups.write", "standups.create", "standups.answer",
            "codered.declare", "codered.keep_level", "codered.step_down",
        })  # fmt: skip
        cases = examples(
            st.tuples(st.sampled_from(["block_actions", "view_submission"]),
                      st.one_of(st.sampled_from(known), st.text(max_size=10)),
                      st.one_of(st.text(max_size=20), st.just("999999"), st.just("{}"))),
            60,
        )  # fmt: skip
        for kind, action_id, value in cases:
            hook = bot.state.new_hook(seed.GENERAL, seed.BOB)
            response_url = f"{bot.sandbox.base}/hooks/{hook.id}"
            response = await bot.slack.interaction(
                interaction(kind, action_id, value, response_url)
            )
            assert response.status_code < 500, (kind, action_id, value, response.text)
        await bot.settle(timeout=60)
    assert_no_listener_crashed(caplog)


async def test_generated_webhook_bodies(db_url: str) -> None:
    from bot.sandbox.ci_samples import github_headers

    # Webhooks are answered after their rows are written, so no worker is needed; without
    # the scheduler, a minute turning during the test cannot add a row of its own.
    async with running_bot(db_url, start_workers=False, **CONFIG) as bot:
        before = await row_counts(bot.rt.sessions)
        bodies = examples(
            st.one_of(
                st.binary(max_size=200),
                st.dictionaries(st.text(max_size=8), st.recursive(
                    st.none() | st.booleans() | st.integers() | st.text(max_size=8),
                    lambda inner: st.lists(inner, max_size=3)
                    | st.dictionaries(st.text(max_size=5), inner, max_size=3),
                    max_leaves=8,
                ), max_size=5).map(lambda d: json.dumps(d).encode()),
            ),
            60,
        )  # fmt: skip
        for body in bodies:
            for event in ("workflow_run", "check_suite", "ping", "push"):
                headers = github_headers(GITHUB_SECRET, body, event=event)
                response = await bot.http.post("/webhooks/github", content=body, headers=headers)
                assert response.status_code < 500, (event, body, response.text)
                if response.status_code >= 400:
                    assert response.json().get("error"), "a refusal must say what was wrong"
        assert await row_counts(bot.rt.sessions) == before
