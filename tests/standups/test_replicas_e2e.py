"""Two replicas on one database: each person still gets exactly one prompt and one reminder."""

from __future__ import annotations

import asyncio

from bot.core.db import transaction
from bot.sandbox.harness import BotUnderTest
from bot.sandbox.seed import ALICE, BOB, CAROL
from bot.sandbox.server import Sandbox
from bot.standups.workflows.tick import tick
from tests.standups.helpers import Clock, at, clock_at, command, dm_messages, quiet_bot

CREATE = (
    f'create "Team daily" <#C0STANDUP|standup> 09:00 <@{ALICE}> <@{BOB}> <@{CAROL}> '
    "tz=UTC reminder=60 cutoff=120"
)


async def _both(clock: Clock, replicas: list[BotUnderTest], when_text: str) -> None:
    """Both schedulers fire for the minute, and both also rerun the job body directly."""
    when = at(when_text)
    clock.move(when)
    fired = await asyncio.gather(*(bot.rt.scheduler.fire("standups.tick") for bot in replicas))
    assert sorted(fired) == [False, True], "one firing per minute across replicas"

    async def rerun(bot: BotUnderTest) -> None:
        async with transaction(bot.rt.sessions) as session:
            await tick(session, when)

    await asyncio.gather(*(rerun(bot) for bot in replicas))
    for bot in replicas:
        await bot.settle()


async def test_two_replicas_one_prompt_one_reminder_each(db_url: str) -> None:
    async with (
        clock_at(at("2026-03-10 07:00")) as clock,
        Sandbox() as sandbox,
        quiet_bot(db_url, sandbox=sandbox) as one,
        quiet_bot(db_url, sandbox=sandbox) as two,
    ):
        await command(one, CREATE, ALICE)
        await two.settle()
        await _both(clock, [one, two], "2026-03-10 09:00")
        await _both(clock, [one, two], "2026-03-10 09:01")
        for user in (ALICE, BOB, CAROL):
            assert len(dm_messages(one, user)) == 1, user
        await _both(clock, [one, two], "2026-03-10 10:00")
        await _both(clock, [one, two], "2026-03-10 10:05")
        for user in (ALICE, BOB, CAROL):
            messages = dm_messages(one, user)
            assert len(messages) == 2, user
            assert "Reminder" in messages[1].text
        posts = [
            c
            for c in sandbox.state.calls_to("chat.postMessage")
            if str(c.args["channel"])[0] == "D"
        ]
        assert len(posts) == 6
