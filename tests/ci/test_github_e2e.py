"""GitHub deliveries, signed, through the real web app; Slack played by the sandbox."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
from typing import Any

import httpx
from sqlalchemy import select

from bot.ci.models import CiBreakage, CiRun
from bot.core.db import utcnow
from bot.sandbox.ci_samples import github_headers, workflow_run
from bot.sandbox.harness import BotUnderTest
from tests.ci.conftest import GITHUB_SECRET, ci_bot
from tests.rows import row_counts

BASE = utcnow().replace(microsecond=0) - dt.timedelta(hours=2)


def at(minute: int) -> dt.datetime:
    return BASE + dt.timedelta(minutes=minute)


async def send(
    bot: BotUnderTest, payload: dict[str, Any], headers: dict[str, str] | None = None
) -> httpx.Response:
    body = json.dumps(payload).encode()
    all_headers = {**github_headers(GITHUB_SECRET, body), **(headers or {})}
    return await bot.http.post("/webhooks/github", content=body, headers=all_headers)


def run(conclusion: str, sha: str, run_id: int, minute: int, **kwargs: Any) -> dict[str, Any]:
    return workflow_run(conclusion=conclusion, sha=sha, run_id=run_id, created=at(minute), **kwargs)


def chat_calls(bot: BotUnderTest) -> list[Any]:
    return [call for call in bot.state.calls if call.method.startswith("chat.")]


def cards(bot: BotUnderTest) -> list[Any]:
    return bot.state.messages("C0CI")


def thread(bot: BotUnderTest) -> list[Any]:
    [card] = cards(bot)
    return bot.state.replies("C0CI", card.ts)


async def test_red_red_green_is_one_card_one_reply_one_recovery(db_url: str) -> None:
    async with ci_bot(db_url) as bot:
        assert (await send(bot, run("success", "a0" * 20, 100, 0))).status_code == 202
        first = await send(bot, run("failure", "a1" * 20, 101, 10))
        assert first.status_code == 202 and first.json()["effect"] == "opened"
        await bot.settle()
        [card] = cards(bot)
        assert "is red" in card.text and "octo-org/octo-repo main" in card.text
        assert "https://github.com/octo-org/octo-repo/actions/runs/101" in json.dumps(card.blocks)

        assert (await send(bot, run("failure", "a2" * 20, 102, 20))).json()["effect"] == "attached"
        await bot.settle()
        [line] = thread(bot)
        assert "Still red" in line.text and "#102" in line.text and "`a2a2a2a`" in line.text

        fixed = run("success", "a3" * 20, 103, 30, completed=at(45), message="fix the build")
        assert (await send(bot, fixed)).json()["effect"] == "fixed"
        await bot.settle()
        [card] = cards(bot)
        assert "green again after 31m" in card.text
        assert card.edited is not None
        _line, recovery = thread(bot)
        assert "Green again after 31m" in recovery.text
        assert "`a3a3a3a`" in recovery.text and "fix the build" in recovery.text
        assert len(bot.state.calls_to("chat.postMessage")) == 3


async def test_same_delivery_twice_changes_nothing(db_url: str) -> None:
    async with ci_bot(db_url) as bot:
        payload = run("failure", "b1" * 20, 201, 0)
        body = json.dumps(payload).encode()
        headers = github_headers(GITHUB_SECRET, body)
        assert (
            await bot.http.post("/webhooks/github", content=body, headers=headers)
        ).status_code == 202
        await bot.settle()
        rows, posts = await row_counts(bot.rt.sessions), len(chat_calls(bot))
        again = await bot.http.post("/webhooks/github", content=body, headers=headers)
        assert again.status_code == 200 and again.json() == {"duplicate": True}
        # A new delivery id for the same run (a manual redelivery) is the same run too.
        other = await send(bot, payload)
        assert other.status_code == 202 and other.json()["effect"] == "duplicate"
        await bot.settle()
        after = await row_counts(bot.rt.sessions)
        assert {k: v for k, v in after.items() if k != "processed_events"} == {
            k: v for k, v in rows.items() if k != "processed_events"
        }
        assert after["processed_events"] == rows["processed_events"] + 1
        assert len(chat_calls(bot)) == posts
        assert len(cards(bot)) == 1


async def test_late_failure_of_older_commit_does_not_reopen(db_url: str) -> None:
    async with ci_bot(db_url) as bot:
        await send(bot, run("failure", "c1" * 20, 301, 10))
        await send(bot, run("success", "c3" * 20, 303, 30))
        await bot.settle()
        late = await send(bot, run("failure", "c2" * 20, 302, 20))
        assert late.status_code == 202 and late.json()["effect"] == "stale"
        await bot.settle()
        [card] = cards(bot)
        assert "green again" in card.text
        assert len(thread(bot)) == 1  # the recovery only
        async with bot.rt.sessions() as session:
            statuses = [b.status for b in await session.scalars(select(CiBreakage))]
        assert statuses == ["fixed"]


async def test_fail_then_pass_on_same_sha_is_a_flake(db_url: str) -> None:
    async with ci_bot(db_url) as bot:
        await send(bot, run("success", "d0" * 20, 400, 0))
        await send(bot, run("failure", "d1" * 20, 401, 10, workflow="e2e"))
        rerun = run("success", "d1" * 20, 401, 10, workflow="e2e", attempt=2, completed=at(30))
        assert (await send(bot, rerun)).json()["effect"] == "flaky"
        await bot.settle()
        [card] = cards(bot)
        assert "flaky" in card.text
        [line] = thread(bot)
        assert "Flaky" in line.text and "flake of *e2e*" in line.text
        async with bot.rt.sessions() as session:
            flaky = list(await session.scalars(select(CiRun).where(CiRun.flaky.is_(True))))
        assert [(r.external_id, r.attempt) for r in flaky] == [("401", 1)]
        await bot.slack.command(
            "/ci", "history octo-org/octo-repo main", user="U0ALICE", channel="C0CI"
        )
        answer = bot.state.ephemerals_for("U0ALICE")[-1]
        assert "1 flaky" in answer.text
        assert "*flake*" in json.dumps(answer.blocks)


async def test_suspect_is_mentioned_once_and_owners_when_still_red(db_url: str) -> None:
    async with ci_bot(db_url) as bot:
        bot.rt.settings.ci.still_red_hours = 1
        await send(bot, run("success", "e0" * 20, 500, 0))
        payload = run(
            "failure", "e1" * 20, 501, 10, author_name="Bob", author_email="bob@example.com"
        )
        await send(bot, payload)
        await send(bot, run("failure", "e2" * 20, 502, 20, author_email="bob@example.com"))
        await bot.settle()
        await bot.rt.scheduler.run_now("ci.still_red")
        await bot.rt.scheduler.run_now("ci.still_red")
        await bot.settle()
        everything = " ".join(m.text for m in bot.state.all_messages("C0CI"))
        assert everything.count("<@U0BOB>") == 1
        assert everything.count("<@U0CAROL>") == 1
        [card] = cards(bot)
        assert "<@" not in card.text
        assert len(bot.state.calls_to("users.lookupByEmail")) == 1


async def test_ping_and_check_suite(db_url: str) -> None:
    from bot.sandbox.ci_samples import fixture

    async with ci_bot(db_url) as bot:
        body = json.dumps(fixture("ping.json")).encode()
        pong = await bot.http.post(
            "/webhooks/github", content=body, headers=github_headers(GITHUB_SECRET, body, "ping")
        )
        assert pong.status_code == 200
        suite = fixture("check_suite.completed.json")
        suite["repository"]["full_name"] = "octo-org/octo-repo"
        suite["check_suite"].update(head_branch="main", conclusion="failure")
        body = json.dumps(suite).encode()
        headers = github_headers(GITHUB_SECRET, body, "check_suite")
        answer = await bot.http.post("/webhooks/github", content=body, headers=headers)
        assert answer.status_code == 202 and answer.json()["effect"] == "opened"
        await bot.settle()
        [card] = cards(bot)
        assert "octocoders-linter" in card.text


async def test_concurrent_failures_open_one_breakage(db_url: str) -> None:
    async with ci_bot(db_url) as bot:
        await send(bot, run("success", "f0" * 20, 600, 0))
        answers = await asyncio.gather(
            *(send(bot, run("failure", f"f{i}" * 20, 600 + i, 10 + i)) for i in range(1, 5))
        )
        effects = sorted(answer.json()["effect"] for answer in answers)
        assert effects == ["attached", "attached", "attached", "opened"]
        await bot.settle()
        assert len(cards(bot)) == 1
        assert len([m for m in thread(bot) if "Still red" in m.text]) == 3


async def test_deliveries_sent_at_once_each_get_their_answer(db_url: str) -> None:
    async with ci_bot(db_url) as bot:
        red = json.dumps(run("failure", "c1" * 20, 301, 0)).encode()
        red_headers = github_headers(GITHUB_SECRET, red)
        answers = await asyncio.gather(
            send(bot, run("success", "c0" * 20, 300, -10)),
            bot.http.post("/webhooks/github", content=red, headers=red_headers),
            bot.http.post("/webhooks/github", content=red, headers=red_headers),
            send(bot, run("failure", "c2" * 20, 302, 10)),
        )
        assert sorted(a.status_code for a in answers) == [200, 202, 202, 202]
        assert {"duplicate": True} in [a.json() for a in answers]
        effects = [a.json().get("effect") for a in answers if a.status_code == 202]
        # The two reds may be stored in either order: one opens, the other joins or is late.
        assert effects.count("green") == 1 and effects.count("opened") == 1
        assert (set(effects) - {"green", "opened"}) <= {"attached", "stale"}
        await bot.settle()
        assert len(cards(bot)) == 1
