"""The standups demo act plays a day against the sandbox with the operator's demo settings."""

from __future__ import annotations

from bot.sandbox import seed
from bot.sandbox.acts import standups as demo
from bot.sandbox.demo import demo_config
from tests.standups.helpers import channel_messages, dm_messages, quiet_bot


async def test_demo_act(db_url: str) -> None:
    async with quiet_bot(db_url, **demo_config()) as bot:
        out: list[str] = []
        await demo.act(bot, out)
        await bot.settle()
        narration = "\n".join(out)
        assert "3 prompt(s)" in narration and "1 reminder(s)" in narration
        assert "3 cutoff(s)" in narration
        (digest,) = channel_messages(bot, seed.STANDUP)
        text = str(digest.blocks)
        assert text.index("Waiting on DB access") < text.index("Shipped the importer")
        assert f"Did not answer: <@{seed.CAROL}>" in text
        assert len(dm_messages(bot, seed.CAROL)) == 2
        assert "Team: 2/3 (67%)" in bot.state.ephemerals_for(seed.ALICE)[-1].text
