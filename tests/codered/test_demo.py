"""The code red demo act: declare, two check-ins, the digest, a loan, resolve."""

from __future__ import annotations

from bot.sandbox import seed
from bot.sandbox.acts import codered as demo
from bot.sandbox.demo import demo_config
from tests.codered.helpers import blocks_text, bot_posts, header, war_room
from tests.standups.helpers import dm_messages, quiet_bot


async def test_demo_act(db_url: str) -> None:
    async with quiet_bot(db_url, **demo_config()) as bot:
        out: list[str] = []
        await demo.act(bot, out)
        await bot.settle()
        assert "2 prompt(s)" in "\n".join(out)
        room = war_room(bot).id
        assert "Resolved code red: Checkout errors" in blocks_text(header(bot))
        posts = [m.text for m in bot_posts(bot, room)]
        assert any("Code red 1: Checkout errors" in text and "1 blocker" in text for text in posts)
        assert any("Code red call" in text and "Need prod DB credentials" in text for text in posts)
        assert any(text.startswith("Code red retro") for text in posts)
        announced = [m.text for m in bot_posts(bot, seed.GENERAL)]
        assert len(announced) == 3 and "resolved" in announced[-1]
        assert any("time to resume" in m.text for m in dm_messages(bot, seed.ERIN))
        assert any("on loan" in m.text for m in dm_messages(bot, seed.DAVE))
