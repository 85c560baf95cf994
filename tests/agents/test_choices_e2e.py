"""Several attempts compared, then judged: "Open PR for attempt N" opens a draft pull request
for that attempt's branch; "Continue with attempt N" makes follow-ups continue it.

Real signed requests, the real command backend and git, a GitHub stand-in on loopback."""

from __future__ import annotations

from pathlib import Path

from bot.agents import models as m
from bot.agents import service
from bot.agents.models import AgentRequest
from tests.agents.e2e import (
    BOB,
    DAVE,
    GENERAL,
    agent_bot,
    all_in,
    mention,
    posts_of,
    requests,
    shown,
    tasks,
    told,
    until,
    view_ts,
)
from tests.agents.test_command_backend_e2e import REPO, FakeGitHub, _git, command_agents

__all__ = ["checkout", "github"]  # fixtures, from the command backend's tests
from tests.agents.test_command_backend_e2e import checkout, github  # noqa: E402,F401


def _buttons(bot, channel: str, ts: str) -> list[str]:  # type: ignore[no-untyped-def]
    message = bot.state.message(channel, ts)
    return [
        element["text"]["text"]
        for block in message.blocks or []
        if block.get("type") == "actions"
        for element in block["elements"]
    ]


async def test_open_a_pr_for_one_attempt_and_continue_another(
    db_url: str, checkout: Path, tmp_path: Path, github: FakeGitHub
) -> None:
    agents = command_agents(checkout, tmp_path, github_token="ghs_test", github_api_url=github.url)
    async with agent_bot(db_url, "unused", **agents) as bot:
        await bot.slack.command(
            "/agent", f"run {REPO} make the login test retry attempts=2", user=BOB, channel=GENERAL
        )
        await until(bot, lambda: all_in(bot, m.COMPLETED))
        await until(bot, lambda: posts_of(bot, service.COMPARISON))
        assert github.pulls == []  # of several attempts, people choose which becomes a PR
        channel, ts = await view_ts(bot, service.COMPARISON, 1)
        assert _buttons(bot, channel, ts) == [
            "Open PR for attempt 1",
            "Continue with attempt 1",
            "Open PR for attempt 2",
            "Continue with attempt 2",
        ]
        first, second = await tasks(bot)

        # Someone who did not ask is refused, and nothing is opened.
        await bot.slack.block_action(
            DAVE, "agents.open_pr", value=str(second.id), channel=channel, message_ts=ts
        )
        await bot.settle()
        assert github.pulls == [] and "<@U0BOB>" in told(bot, DAVE)

        await bot.slack.block_action(
            BOB, "agents.open_pr", value=str(second.id), channel=channel, message_ts=ts
        )
        await until(bot, lambda: bool(github.pulls))
        await bot.settle()
        [pull] = github.pulls
        assert pull["head"] == "opsbot/agent-1-2" and pull["draft"] is True
        assert "`U0BOB`" in pull["body"] and "attempt 2" in pull["body"]
        assert "Opening a draft pull request for attempt 2" in told(bot, BOB)
        _, second = await tasks(bot)
        assert second.pr_url == "https://github.com/octo-org/octo-repo/pull/1"
        compared = shown(bot, channel, ts)
        assert "<https://github.com/octo-org/octo-repo/pull/1|PR>" in compared
        assert "Open PR for attempt 2" not in _buttons(bot, channel, ts)

        # A second click finds the PR there.
        await bot.slack.block_action(
            BOB, "agents.open_pr", value=str(second.id), channel=channel, message_ts=ts
        )
        await bot.settle()
        assert "already has a pull request" in told(bot, BOB) and len(github.pulls) == 1

        # Continue with attempt 2: the comparison says so, and a follow-up builds on its branch.
        await bot.slack.block_action(
            BOB, "agents.continue", value=str(second.id), channel=channel, message_ts=ts
        )
        await until(bot, lambda: "follow-ups continue it" in shown(bot, channel, ts))
        async with bot.rt.sessions() as session:
            request = await session.get(AgentRequest, 1)
            assert request is not None and request.chosen_attempt == 2
            thread = request.thread_ts
        assert thread is not None
        await bot.slack.user_message(GENERAL, BOB, mention(bot, "also log the retries"), thread)

        async def followed_up() -> bool:
            return len(await requests(bot)) == 2 and await all_in(bot, m.COMPLETED)

        await until(bot, followed_up)
        later = (await requests(bot))[-1]
        assert later.follow_up_of == 1
        notes = _git("-C", str(tmp_path / "origin.git"), "show", "opsbot/agent-2-1:NOTES.md")
        assert "- attempt 2" in notes.split("- also log the retries")[0]  # attempt 2 came first
        assert first.branch == "opsbot/agent-1-1"
