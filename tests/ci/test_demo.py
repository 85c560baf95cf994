"""The demo act plays its scene against the sandbox with the operator's demo configuration."""

from __future__ import annotations

import json

from bot.sandbox import seed
from bot.sandbox.acts import ci as demo
from bot.sandbox.harness import running_bot

DEMO_CONFIG = {
    "github_webhook_secret": "demo-github-secret",
    "ci": {"routes": [{"repo": "octo-org/octo-repo", "branches": ["main"], "channel": "C0CI"}]},
}


async def test_demo_act(db_url: str) -> None:
    async with running_bot(db_url, **DEMO_CONFIG) as bot:
        bot.state.add_channel("ci", [seed.ALICE, seed.BOB, bot.state.bot_user_id], id="C0CI")
        out: list[str] = []
        await demo.act(bot, out)
        await bot.settle()
    narration = "\n".join(out)
    assert narration.count("HTTP 202") == 7 and "HTTP 200, answered ephemerally" in narration
    test_card, lint_card = bot.state.messages("C0CI")
    assert "green again after 24m (test)" in test_card.text
    assert "flaky" in lint_card.text
    replies = [m.text for m in bot.state.replies("C0CI", test_card.ts)]
    # The suspects line and the second run's line race each other; the recovery comes last.
    assert sorted(r.split()[0] for r in replies[:2]) == [":red_circle:", "Suspects"]
    assert replies[2].startswith(":large_green_circle: Green again after 24m")
    assert " ".join(replies).count("<@U0BOB>") == 1
    assert "Flaky" in bot.state.replies("C0CI", lint_card.ts)[0].text
    history = bot.state.ephemerals_for(seed.ALICE)[-1]
    assert "Last 2 breakages of octo-org/octo-repo main (1 flaky)" in history.text
    assert "fixed in 24m" in json.dumps(history.blocks)
