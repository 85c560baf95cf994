"""The form a breakage card's "Ask agents to fix" opens: a press opens it only when agents can be
asked; its submission is checked (attempts, agent, the same access rule, a round started
meanwhile) and writes nothing when refused; the agent picked is the one asked."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from sqlalchemy import func, select

from bot.agents.models import AgentRequest
from bot.ci.models import CiFixRequest
from bot.core.db import transaction
from bot.sandbox.harness import BotUnderTest
from tests.agents.e2e import told, until
from tests.ci.conftest import CI_CONFIG, ci_bot
from tests.ci.test_ask_agents_e2e import FORM, choice, opened_form
from tests.ci.test_github_e2e import run, send

CAROL, DAVE = "U0CAROL", "U0DAVE"  # the route's owner, a stranger
NOWHERE = "http://127.0.0.1:9/"  # the agents are never reached: only what they are asked counts


def _agents(fix: dict[str, Any] | None = None) -> dict[str, Any]:
    return {
        "ci": {**CI_CONFIG, **(fix or {})},
        "agents": {
            "backends": [
                {"name": "first", "kind": "a2a", "url": NOWHERE},
                {"name": "second", "kind": "a2a", "url": NOWHERE},
            ],
            "repos": {"C0CI": "octo-org/octo-repo"},
            "retries": 1,
            "retry_seconds": 0.05,
        },
    }


@asynccontextmanager
async def _red(db_url: str, **fix: Any) -> AsyncIterator[tuple[BotUnderTest, str]]:
    """A bot with one red breakage (id 1) whose card is posted in C0CI, where Carol is."""
    async with ci_bot(db_url, **_agents(fix)) as bot:
        bot.state.channels["C0CI"].members.add(CAROL)
        await send(bot, run("success", "a0" * 20, 100, 0))
        await send(bot, run("failure", "a1" * 20, 101, 10))
        await bot.settle()
        [card] = bot.state.messages("C0CI")
        yield bot, card.ts


async def _press(bot: BotUnderTest, user: str, card_ts: str) -> None:
    await bot.slack.block_action(user, "ci.ask_agents", value="1", channel="C0CI",
                                 message_ts=card_ts)  # fmt: skip
    await bot.settle()


async def _rows(bot: BotUnderTest, model: type = CiFixRequest) -> int:
    async with bot.rt.sessions() as session:
        return int(await session.scalar(select(func.count()).select_from(model)) or 0)


async def _being_fixed(bot: BotUnderTest, card_ts: str) -> None:
    """Someone's round that is still being prepared."""
    async with transaction(bot.rt.sessions) as session:
        session.add(
            CiFixRequest(
                breakage_id=1, round=1, channel="C0CI", thread_ts=card_ts, requested_by="U0ERIN",
                reviewers=[], attempts=1, status="preparing", fixed_by=[],
            )
        )  # fmt: skip


def _errors(answer: Any) -> dict[str, str]:
    body = answer.json()
    assert body["response_action"] == "errors", body
    return dict(body["errors"])


async def test_a_strangers_press_is_refused_and_opens_no_form(db_url: str) -> None:
    async with _red(db_url) as (bot, card_ts):
        await _press(bot, DAVE, card_ts)
        assert "Only the route's owners, its suspects or an admin" in told(bot, DAVE)
        assert bot.state.calls_to("views.open") == [] and bot.state.open_views() == []
        assert await _rows(bot) == 0


async def test_a_press_while_agents_are_asked_or_once_green_opens_no_form(db_url: str) -> None:
    async with _red(db_url) as (bot, card_ts):
        await _being_fixed(bot, card_ts)
        await _press(bot, CAROL, card_ts)
        assert "Agents are already working on this breakage" in told(bot, CAROL)
        assert bot.state.calls_to("views.open") == []

        await send(bot, run("success", "a2" * 20, 102, 20))
        await bot.settle()
        await _press(bot, CAROL, card_ts)  # a press from a stale card
        assert "This breakage is over" in told(bot, CAROL)
        assert bot.state.calls_to("views.open") == [] and bot.state.open_views() == []
        assert await _rows(bot) == 1


async def test_a_form_slack_would_not_open_is_said_so(db_url: str) -> None:
    async with _red(db_url) as (bot, card_ts):
        bot.state.faults.fail_next("views.open", "expired_trigger_id")
        await _press(bot, CAROL, card_ts)
        assert "could not open the form" in told(bot, CAROL)
        assert bot.state.open_views() == [] and await _rows(bot) == 0


async def test_a_bad_choice_gets_errors_and_writes_nothing(db_url: str) -> None:
    async with _red(db_url) as (bot, card_ts):
        await _press(bot, CAROL, card_ts)
        unknown = _errors(await bot.slack.view_submission(CAROL, FORM, choice("2", "rogue")))
        assert list(unknown) == ["backend"] and "first, second" in unknown["backend"]
        for attempts in ("0", "5", "two", ""):
            wrong = _errors(await bot.slack.view_submission(CAROL, FORM, choice(attempts, "first")))
            assert wrong == {"attempts": "Pick from 1 to 4 attempts."}, attempts
        await bot.settle()
        assert await _rows(bot) == 0 and await _rows(bot, AgentRequest) == 0
        assert bot.state.calls_to("chat.postEphemeral") == []


async def test_a_form_submitted_after_another_round_started_starts_nothing(db_url: str) -> None:
    async with _red(db_url) as (bot, card_ts):
        await _press(bot, CAROL, card_ts)
        await _being_fixed(bot, card_ts)
        refused = _errors(await bot.slack.view_submission(CAROL, FORM, choice("1", "first")))
        assert "already working on this breakage" in refused["attempts"]
        assert await _rows(bot) == 1


async def test_a_stranger_submitting_the_form_is_refused_by_the_same_rule(db_url: str) -> None:
    async with _red(db_url) as (bot, card_ts):
        metadata = json.dumps({"breakage": 1})
        answer = await bot.slack.view_submission(DAVE, FORM, choice("1", "first"), metadata)
        assert "Only the route's owners" in json.dumps(answer.json())
        assert await _rows(bot) == 0


async def test_the_agent_picked_is_the_one_asked(db_url: str) -> None:
    async with _red(db_url, fix_attempts=3, fix_backend="second") as (bot, card_ts):
        await _press(bot, CAROL, card_ts)
        [opened] = bot.state.calls_to("views.open")
        form = opened_form(opened.args)
        selects = {b["block_id"]: b["element"] for b in form["blocks"] if "element" in b}
        assert selects["attempts"]["initial_option"]["value"] == "3"
        assert selects["backend"]["initial_option"]["value"] == "second"  # ci.fix_backend
        assert [o["value"] for o in selects["backend"]["options"]] == ["first", "second"]
        assert [o["value"] for o in selects["attempts"]["options"]] == ["1", "2", "3", "4"]

        answer = await bot.slack.view_submission(CAROL, FORM, choice("1", "first"))
        assert answer.status_code == 200 and not answer.content
        await until(bot, lambda: _rows(bot, AgentRequest))
        async with bot.rt.sessions() as session:
            fix = await session.scalar(select(CiFixRequest))
            request = await session.scalar(select(AgentRequest))
        assert fix is not None and (fix.backend, fix.attempts) == ("first", 1)
        assert request is not None and (request.backend, request.attempts) == ("first", 1)
        [said] = [c.args for c in bot.state.calls_to("chat.postEphemeral")]
        assert said["channel"] == "C0CI" and said["user"] == CAROL
        assert "Asked an agent to fix this breakage" in told(bot, CAROL)
