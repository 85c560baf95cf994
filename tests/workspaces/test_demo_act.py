"""The demo's workspaces act: two installs, a breakage in both, an incident seen by one."""

from __future__ import annotations

from bot.sandbox import seed
from bot.sandbox.acts import workspaces as demo
from bot.sandbox.harness import running_bot


async def test_demo_act(db_url: str) -> None:
    async with running_bot(db_url, oauth=True, **demo.config()) as bot:
        bot.state.valid_tokens = set()
        out: list[str] = []
        await demo.act(bot, out)
    narration = "\n".join(out)
    assert narration.count("installs opsbot: -> HTTP 200") == 2
    assert narration.count("-> HTTP 202") == 2
    [home_card] = bot.state.messages(seed.CI_ALERTS)
    beta_card = [m for m in bot.state.messages(demo.BETA_GENERAL) if "green again" in m.text]
    assert "green again" in home_card.text and len(beta_card) == 1
    alice, bea = [line for line in out if "/incident list" in line]
    assert "Payments timing out" in alice and "Payments timing out" not in bea
    assert "tokens used per workspace: {'Sandbox': 1, 'Beta Corp': 1}" in narration
