"""The demo act plays against the sandbox with only the operator's demo configuration."""

from __future__ import annotations

from bot.agents import service
from bot.sandbox import seed
from bot.sandbox.acts import agents as demo
from bot.sandbox.demo import demo_config
from bot.sandbox.harness import running_bot
from tests.agents.e2e import posts_of, shown, until
from tests.agents.isolated import IN_CI

DEMO_CONFIG = demo_config()  # the CI scene needs its route


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
        assert len(posts_of(bot, service.CARD)) == 6
        a2a, codex = posts_of(bot, service.RESULT)
        assert "The agent finished" in a2a.args["text"]
        # The codex preset's stand-in: its JSONL read, its edit committed on its branch.
        assert "Login now retries twice before failing" in codex.args["text"]
        assert "1 file, +2 -0" in codex.args["text"]
        isolated = "isolated by bubblewrap" in narration
        assert isolated or (not IN_CI and "unisolated" in narration)
        comparison, fixing = posts_of(bot, service.COMPARISON)
        assert "2 attempts are done" in comparison.args["text"]
        assert (
            "*Attempt 2* · :white_check_mark: completed · 1 file, +2 -0"
            in (comparison.args["text"])
        )

        # Main red, "Ask agents to fix", two codex attempts compared in the card's thread.
        [card] = bot.state.messages(seed.CI_ALERTS)[-1:]
        assert fixing.args["thread_ts"] == card.ts and fixing.args["channel"] == seed.CI_ALERTS
        assert "Ask agents to fix" in narration
        assert "*2 attempts are done* (2 completed)" in fixing.args["text"]
        # CI on attempt 2's branch marks it; main green at its commit credits it on the card.
        credited = "Fixed by the agents' attempt 2"
        await until(bot, lambda: credited in shown(bot, seed.CI_ALERTS, card.ts))
        replies = [r.text for r in bot.state.replies(seed.CI_ALERTS, card.ts)]
        assert any(":large_green_circle: CI green>" in r and "*Attempt 2*" in r for r in replies)
        assert any(r.startswith(":large_green_circle: Green again") and credited in r
                   for r in replies)  # fmt: skip
