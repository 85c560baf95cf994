"""The demo act plays against the sandbox with only the operator's demo configuration."""

from __future__ import annotations

from bot.agents import service
from bot.sandbox import seed
from bot.sandbox.acts import agents as demo
from bot.sandbox.harness import running_bot
from tests.agents.e2e import posts_of
from tests.agents.isolated import IN_CI

DEMO_CONFIG = {"admins": [seed.ALICE]}


async def test_demo_act(db_url: str) -> None:
    async with running_bot(db_url, **DEMO_CONFIG) as bot:
        out: list[str] = []
        await demo.act(bot, out)
        await bot.settle()
        narration = "\n".join(out)
        assert "@opsbot make the login test reliable" in narration
        assert "the agent received 4 messages in 2 contexts" in narration
        [question] = posts_of(bot, service.QUESTION)
        assert "which file has the test?" in question.args["text"]
        assert len(posts_of(bot, service.CARD)) == 4
        a2a, codex = posts_of(bot, service.RESULT)
        assert "The agent finished" in a2a.args["text"]
        # The codex preset's stand-in: its JSONL read, its edit committed on its branch.
        assert "Login now retries twice before failing" in codex.args["text"]
        assert "1 file, +2 -0" in codex.args["text"]
        isolated = "isolated by bubblewrap" in narration
        assert isolated or (not IN_CI and "unisolated" in narration)
        [comparison] = posts_of(bot, service.COMPARISON)
        assert "2 attempts are done" in comparison.args["text"]
        assert (
            "*Attempt 2* · :white_check_mark: completed · 1 file, +2 -0"
            in (comparison.args["text"])
        )
