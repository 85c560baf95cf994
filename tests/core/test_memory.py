"""A bot that has stopped leaves nothing behind: hundreds of them run in one test worker, and
a deployment's reloads and the demo build more than one in a process."""

from __future__ import annotations

import gc
import weakref

from bot.sandbox.harness import running_bot
from bot.sandbox.seed import ALICE
from tests.memory import release_framework_caches


async def test_a_stopped_bot_is_collected(db_url: str) -> None:
    async with running_bot(db_url) as bot:
        response = await bot.slack.command("/incident", "declare Checkout down", user=ALICE)
        assert response.status_code == 200
        await bot.settle()
        runtime = weakref.ref(bot.rt)
        engine = weakref.ref(bot.rt.engine)
        del bot
    release_framework_caches()
    gc.collect()
    assert runtime() is None, [type(r).__qualname__ for r in gc.get_referrers(runtime())]
    assert engine() is None
