"""A red CI breakage handed to coding agents from its card, end to end: signed webhooks and
button presses through the real web app, Slack played by the sandbox, the command backend and
real git, and the GitHub stand-in for jobs, logs and compare.

red breakage with suspects -> "Ask agents to fix" -> refused for a stranger (no form) -> the
route owner's press opens the form -> two attempts asked of the chosen agent -> their comparison
in the card's thread, mentioning the suspect -> CI green on attempt 2's branch marks it -> main
green at attempt 2's commit names it on the card.
"""

from __future__ import annotations

import json
import subprocess
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from bot.agents import models as m
from bot.agents import service as agents
from bot.agents.models import AgentRequest, AgentTask
from bot.ci.models import CiFixRequest
from bot.sandbox.driver import picked
from bot.sandbox.github import GitHubStandIn, job
from bot.sandbox.harness import BotUnderTest
from tests.agents.e2e import all_in, posts_of, shown, told, until, view_ts
from tests.agents.test_command_backend_e2e import command_agents
from tests.ci.conftest import CI_CONFIG, ci_bot
from tests.ci.test_github_e2e import run, send

__all__ = ["checkout"]  # a fixture, from the command backend's tests
from tests.agents.test_command_backend_e2e import checkout  # noqa: E402,F401

CAROL, DAVE, ALICE = "U0CAROL", "U0DAVE", "U0ALICE"  # route owner, stranger, suspect
FORM = "ci.ask_agents.form"  # what the card's button opens
RUN_ID, JOB_ID = 4242, 77
LEAKED = "ghp_" + "Z9y8X7w6V5u4T3s2R1q0P9o8N7m6L5k4J3i2"
LOG = "\n".join(
    [f"2026-03-02T09:00:{i:02d}.0000000Z collecting {i}" for i in range(40)]
    + [
        f"2026-03-02T09:01:00.0000000Z GITHUB_TOKEN={LEAKED}",
        "2026-03-02T09:01:01.0000000Z FAILED tests/test_login.py::test_logged_out",
        "2026-03-02T09:01:02.0000000Z ##[error]Process completed with exit code 1.",
        "2026-03-02T09:01:03.0000000Z Post job cleanup.",
        "2026-03-02T09:01:04.0000000Z Cleaning up orphan processes",
        "2026-03-02T09:01:05.0000000Z Evicted 3 runner caches",
    ]
)


def _git(repo: Path, *args: str) -> str:
    done = subprocess.run(["git", "-C", str(repo), *args], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()


def _push_red_commit(checkout: Path) -> tuple[str, str]:
    """The last green commit (main as cloned) and Alice's commit that breaks it, pushed."""
    green = _git(checkout, "rev-parse", "HEAD")
    (checkout / "src" / "login.py").write_text("def login(user):\n    return True\n")
    _git(checkout, "-c", "user.name=Alice", "-c", "user.email=alice@example.com",
         "commit", "-qam", "Always log in")  # fmt: skip
    _git(checkout, "push", "-q", "origin", "HEAD:main")
    return green, _git(checkout, "rev-parse", "HEAD")


@pytest.fixture
async def github(checkout: Path) -> AsyncIterator[GitHubStandIn]:
    async with GitHubStandIn(checkout.parent / "origin.git") as standin:
        yield standin


def _config(checkout: Path, tmp_path: Path, github: GitHubStandIn) -> dict[str, Any]:
    ci = {
        **CI_CONFIG,
        "github_token": "ghs_ci_read",
        "github_api_url": github.url,
        "authors": {"alice@example.com": ALICE},
        "fix_attempts": 2,
        "fix_log_lines": 12,
    }
    return {"ci": ci, "agents": command_agents(checkout, tmp_path), "admins": ["U0ERIN"]}


def _buttons(bot: BotUnderTest, channel: str, ts: str) -> list[str]:
    message = bot.state.message(channel, ts)
    return [
        element["text"]["text"]
        for block in message.blocks or []
        if block.get("type") == "actions"
        for element in block["elements"]
    ]


async def _count(bot: BotUnderTest, model: type) -> int:
    async with bot.rt.sessions() as session:
        return int(await session.scalar(select(func.count()).select_from(model)) or 0)


def opened_form(args: dict[str, Any]) -> dict[str, Any]:
    """The view a views.open call sent."""
    view = args["view"]
    return dict(json.loads(view) if isinstance(view, str) else view)


def _initial(form: dict[str, Any], block_id: str) -> str:
    """The value a form's select is prefilled with."""
    [block] = [b for b in form["blocks"] if b.get("block_id") == block_id]
    return str(block["element"]["initial_option"]["value"])


def choice(attempts: str, backend: str) -> dict[str, Any]:
    """What the form sends when `attempts` and `backend` are picked."""
    return picked(attempts=attempts, backend=backend)


async def _attempt_heads(checkout: Path) -> list[str]:
    origin = checkout.parent / "origin.git"
    return [_git(origin, "rev-parse", f"opsbot/agent-1-{n}") for n in (1, 2)]


async def test_a_breakage_handed_to_agents_and_fixed_by_attempt_two(
    db_url: str, checkout: Path, tmp_path: Path, github: GitHubStandIn
) -> None:
    green, red = _push_red_commit(checkout)
    github.add_run(RUN_ID, [
        job(JOB_ID - 1, "lint", RUN_ID, [("Run ruff", "success")]),
        job(JOB_ID, "pytest", RUN_ID, [("Set up job", "success"), ("Run tests", "failure")]),
    ])  # fmt: skip
    github.set_log(JOB_ID, LOG)
    async with ci_bot(db_url, **_config(checkout, tmp_path, github)) as bot:
        bot.state.add_channel("ci", [ALICE, "U0BOB", CAROL, bot.state.bot_user_id], id="C0CI")
        await send(bot, run("success", green, RUN_ID - 1, 0))
        opened = run("failure", red, RUN_ID, 10, author_name="Alice",
                     author_email="alice@example.com", message="Always log in")  # fmt: skip
        assert (await send(bot, opened)).json()["effect"] == "opened"
        await bot.settle()
        [card] = bot.state.messages("C0CI")
        assert _buttons(bot, "C0CI", card.ts) == ["Ask agents to fix"]

        # A stranger is refused, clearly and ephemerally, and nothing is written.
        await bot.slack.block_action(DAVE, "ci.ask_agents", value="1", channel="C0CI",
                                     message_ts=card.ts)  # fmt: skip
        await bot.settle()
        refusal = told(bot, DAVE)
        assert "Only the route's owners, its suspects or an admin can ask agents to fix" in refusal
        assert await _count(bot, CiFixRequest) == 0 and await _count(bot, AgentRequest) == 0
        assert bot.state.calls_to("views.open") == [] and bot.state.open_views() == []

        # The route's owner's press opens the form, prefilled with ci.fix_attempts and the
        # first backend; nothing is asked yet.
        await bot.slack.block_action(CAROL, "ci.ask_agents", value="1", channel="C0CI",
                                     message_ts=card.ts)  # fmt: skip
        await bot.settle()
        [opened] = bot.state.calls_to("views.open")
        form = opened_form(opened.args)
        assert form["callback_id"] == FORM
        assert json.loads(form["private_metadata"])["breakage"] == 1
        assert _initial(form, "attempts") == "2" and _initial(form, "backend") == "local"
        assert [v.callback_id for v in bot.state.open_views(CAROL)] == [FORM]
        assert await _count(bot, CiFixRequest) == 0

        # She asks for two attempts by the local agent; a press while they work starts nothing
        # and opens no form.
        answer = await bot.slack.view_submission(CAROL, FORM, choice("2", "local"))
        assert answer.status_code == 200 and not answer.content
        await bot.slack.block_action(CAROL, "ci.ask_agents", value="1", channel="C0CI",
                                     message_ts=card.ts)  # fmt: skip
        await bot.settle()
        said = told(bot, CAROL)
        assert "Asked 2 agent attempts to fix this breakage" in said
        assert "already" in said
        assert len(bot.state.calls_to("views.open")) == 1
        await until(bot, lambda: all_in(bot, m.COMPLETED), timeout=60)
        assert await _count(bot, CiFixRequest) == 1 and await _count(bot, AgentRequest) == 1

        # The agents were sent the failing job and step, its log tail (redacted), the suspect
        # and its diff.
        async with bot.rt.sessions() as session:
            request = await session.get(AgentRequest, 1)
        assert request is not None and request.thread_ts == card.ts
        assert request.channel == "C0CI" and request.requester == CAROL
        assert request.backend == "local" and request.attempts == 2
        sent = request.sent_payload or ""
        assert "- Job pytest: failure; failing step: #2 Run tests" in sent
        assert "> ##[error]Process completed with exit code 1." in sent
        assert "> collecting 39" in sent and "collecting 30\n" not in sent  # its tail
        assert "Evicted" not in sent and LEAKED not in sent
        assert "> Always log in" in sent and "+    return True" in sent
        assert github.asked(f"/actions/runs/{RUN_ID}/jobs")

        # The comparison is in the card's thread and asks the suspect to review.
        await until(bot, lambda: posts_of(bot, agents.COMPARISON))
        channel, ts = await view_ts(bot, agents.COMPARISON, 1)
        [compared] = [r for r in bot.state.replies("C0CI", card.ts) if r.ts == ts]
        assert channel == "C0CI" and f"<@{ALICE}>: could you review" in compared.text
        card_text = shown(bot, "C0CI", card.ts)
        assert "all 2 attempts are done" in card_text
        assert _buttons(bot, "C0CI", card.ts) == ["Ask agents to fix"]  # may be asked again

        # CI on the attempts' branches marks them in the comparison.
        first, second = await _attempt_heads(checkout)
        branch_run = {"branch": "opsbot/agent-1-1"}
        answer = await send(bot, run("failure", first, RUN_ID + 1, 30, **branch_run))
        assert answer.json()["effect"] == "attempt"
        branch_run = {"branch": "opsbot/agent-1-2"}
        await send(bot, run("success", second, RUN_ID + 2, 31, **branch_run))
        await until(bot, lambda: "CI green" in shown(bot, channel, ts))
        rows = shown(bot, channel, ts)
        assert rows.index("Attempt 1") < rows.index("CI red") < rows.index("Attempt 2")
        assert rows.index("Attempt 2") < rows.index("CI green")
        assert "CI is green on attempt 2" in shown(bot, "C0CI", card.ts)
        assert len(bot.state.messages("C0CI")) == 1  # attempt branches open no breakage

        # Main turns green at attempt 2's commit (its branch fast-forwarded): it is named.
        _git(checkout.parent / "origin.git", "update-ref", "refs/heads/main", second)
        fixed = await send(bot, run("success", second, RUN_ID + 3, 40, message="Fix login"))
        assert fixed.json()["effect"] == "fixed"
        await until(bot, lambda: "Fixed by the agents' attempt 2" in shown(bot, "C0CI", card.ts))
        assert "`opsbot/agent-1-2`" in shown(bot, "C0CI", card.ts)
        assert _buttons(bot, "C0CI", card.ts) == []
        recovery = bot.state.replies("C0CI", card.ts)[-1]
        assert "Green again" in recovery.text
        assert "Fixed by the agents' attempt 2" in recovery.text


async def test_without_a_token_the_agents_get_what_the_webhook_gave(
    db_url: str, checkout: Path, tmp_path: Path, github: GitHubStandIn
) -> None:
    green, red = _push_red_commit(checkout)
    config = _config(checkout, tmp_path, github)
    config["ci"] = {**config["ci"], "github_token": None, "fix_attempts": 1}
    async with ci_bot(db_url, **config) as bot:
        await send(bot, run("success", green, RUN_ID - 1, 0))
        await send(bot, run("failure", red, RUN_ID, 10, author_email="alice@example.com",
                            message="Always log in"))  # fmt: skip
        await bot.settle()
        [card] = bot.state.messages("C0CI")
        await bot.slack.block_action(CAROL, "ci.ask_agents", value="1", channel="C0CI",
                                     message_ts=card.ts)  # fmt: skip
        await bot.settle()
        [form] = bot.state.open_views(CAROL)
        assert _initial(form.payload, "attempts") == "1"  # ci.fix_attempts
        await bot.slack.view_submission(CAROL, FORM, choice("1", "local"))
        await until(bot, lambda: all_in(bot, m.COMPLETED), timeout=60)
        async with bot.rt.sessions() as session:
            request = await session.get(AgentRequest, 1)
            [task] = list(await session.scalars(select(AgentTask)))
        assert request is not None and task.branch == "opsbot/agent-1-1"
        sent = request.sent_payload or ""
        assert "Failing jobs: not known" in sent and "no ci.github_token is set" in sent
        assert "> Always log in" in sent
        assert github.state.requests == []  # GitHub was not asked
        await until(bot, lambda: "Not given to the agents" in shown(bot, "C0CI", card.ts))
        # One attempt is compared too: that is where the suspect is asked to review.
        await until(bot, lambda: posts_of(bot, agents.COMPARISON))
        channel, ts = await view_ts(bot, agents.COMPARISON, 1)
        assert "1 attempt is done" in shown(bot, channel, ts)

        # Green again by a commit none of the attempts made: none is credited.
        fixed = await send(bot, run("success", "e" * 40, RUN_ID + 3, 40, message="Hand fix"))
        assert fixed.json()["effect"] == "fixed"
        await until(bot, lambda: "None of the agents' 1 attempt" in shown(bot, "C0CI", card.ts))
        recovery = bot.state.replies("C0CI", card.ts)[-1]
        assert "None of the agents' 1 attempt is credited with the fix" in recovery.text
        # ...and why it could not tell more: without a token, only the same commit counts.
        assert "(no GitHub token)" in shown(bot, "C0CI", card.ts)
        blocks = json.dumps(bot.state.message("C0CI", card.ts).blocks)
        assert "ci.ask_agents" not in blocks
