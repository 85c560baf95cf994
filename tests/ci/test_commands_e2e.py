"""/ci through signed slash commands: answers are ephemeral, bad input writes nothing."""

from __future__ import annotations

import json

import pytest

from bot.sandbox.harness import BotUnderTest
from tests.ci.conftest import ci_bot
from tests.ci.test_github_e2e import run, send
from tests.rows import row_counts

USER, CHANNEL = "U0ALICE", "C0CI"


async def ask(bot: BotUnderTest, text: str) -> tuple[str, str]:
    """The text and blocks of the ephemeral answer to `/ci <text>`."""
    before = len(bot.state.ephemerals_for(USER))
    response = await bot.slack.command("/ci", text, user=USER, channel=CHANNEL)
    assert response.status_code == 200
    answers = bot.state.ephemerals_for(USER)
    assert len(answers) == before + 1
    return answers[-1].text, json.dumps(answers[-1].blocks or [])


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ("", "*/ci*: CI breakages"),
        ("help", "`/ci mute <repo> <branch> <duration>`"),
        ("frobnicate", "`frobnicate` is not a /ci subcommand"),
        ("history", "`history` takes a repository"),
        ("mute octo-org/octo-repo main soon", "`soon` is not a duration"),
        ("mute octo-org/octo-repo main 45d", "out of range"),
        ("mute octo-org/elsewhere main 2h", "is not a tracked branch"),
        ("mute octo-org/octo-repo feature/x 2h", "is not a tracked branch"),
    ],
)
async def test_help_and_bad_input_write_nothing(db_url: str, text: str, says: str) -> None:
    async with ci_bot(db_url) as bot:
        await bot.rt.scheduler.stop()
        before = await row_counts(bot.rt.sessions)
        answer, _blocks = await ask(bot, text)
        assert says in answer
        assert "/ci status [repo]" in answer  # the usage comes with every complaint
        assert await row_counts(bot.rt.sessions) == before
        assert bot.state.messages(CHANNEL) == []


async def test_status_and_history(db_url: str) -> None:
    async with ci_bot(db_url) as bot:
        answer, _ = await ask(bot, "status")
        assert "No tracked pipeline has reported a run yet" in answer
        await send(bot, run("success", "a0" * 20, 1, 0, workflow="lint"))
        await send(bot, run("failure", "a1" * 20, 2, 10, workflow="test"))
        answer, blocks = await ask(bot, "status")
        assert "1 of 2 tracked pipelines red" in answer
        assert blocks.index(":red_circle: red since") < blocks.index(":large_green_circle: green")
        assert "octo-org/octo-repo" in blocks and "lint" in blocks
        answer, _ = await ask(bot, "status octo-org/nothing-here")
        assert "No tracked pipeline" in answer
        answer, blocks = await ask(bot, "history octo-org/octo-repo main")
        assert "Last breakage of octo-org/octo-repo main" in answer
        assert "still red" in blocks


async def test_mute_holds_new_cards_until_it_ends(db_url: str) -> None:
    async with ci_bot(db_url) as bot:
        await send(bot, run("success", "b0" * 20, 10, 0))
        answer, _ = await ask(bot, "mute octo-org/octo-repo main 2h")
        assert "muted until" in answer
        assert (await send(bot, run("failure", "b1" * 20, 11, 10))).json()["effect"] == "opened"
        await send(bot, run("failure", "b2" * 20, 12, 20))
        await bot.settle()
        assert bot.state.messages(CHANNEL) == []
        _, blocks = await ask(bot, "status")
        assert "muted until" in blocks and "red since" in blocks
        answer, _ = await ask(bot, "unmute octo-org/octo-repo main")
        assert "no longer muted" in answer
        await bot.rt.scheduler.run_now("ci.still_red")
        await bot.settle()
        [card] = bot.state.messages(CHANNEL)
        assert "is red" in card.text and "#12" in json.dumps(card.blocks)
        assert bot.state.replies(CHANNEL, card.ts) == []  # runs during the mute stay quiet
        answer, _ = await ask(bot, "unmute octo-org/octo-repo main")
        assert "was not muted" in answer
