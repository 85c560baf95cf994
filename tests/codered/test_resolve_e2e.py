"""Pauses, resolving, the retro; and the reconfirm question when a level lasts too long."""

from __future__ import annotations

from bot.codered import service
from bot.sandbox.seed import ALICE, BOB, CAROL, DAVE, ERIN, GENERAL
from tests.codered.helpers import (
    CONFIG,
    blocks_text,
    bot_posts,
    codered,
    declare,
    header,
    tick_all,
    war_room,
)
from tests.standups.helpers import at, clock_at, dm_messages, of_kind, quiet_bot, write_standup


async def test_pauses_resolve_and_retro(db_url: str) -> None:
    async with clock_at(at("2026-03-09 06:00")) as clock, quiet_bot(db_url, **CONFIG) as bot:
        await declare(bot)
        assert "Name the initiative" in await codered(bot, "pause")
        await codered(bot, f'pause "New onboarding" <@{ERIN}>', user=BOB)
        text = blocks_text(header(bot))
        assert "Search revamp" in text and f"New onboarding (<@{ERIN}>)" in text
        # Two days of check-ins: Carol raises a blocker on Monday and clears it on Tuesday.
        await tick_all(bot, clock, at("2026-03-09 09:00"))
        await write_standup(bot, ALICE, ["a", "b", "none"])
        await write_standup(bot, CAROL, ["a", "b", "waiting on vendor"])
        await tick_all(bot, clock, at("2026-03-09 17:00"))
        await write_standup(bot, BOB, ["a", "b", "none"])
        await tick_all(bot, clock, at("2026-03-10 09:00"))
        await write_standup(bot, CAROL, ["a", "b", "none"])
        await codered(bot, "level orange calmer now", user=BOB)
        await tick_all(bot, clock, at("2026-03-10 13:00"))
        await codered(bot, f"loan <@{DAVE}>")

        clock.move(at("2026-03-11 12:00"))
        assert "Give a short summary" in await codered(bot, "resolve")
        assert "Only the owner" in await codered(bot, "resolve done", user=DAVE)
        assert "resolved" in await codered(bot, "resolve Error rate back to normal")
        resolved = [m for m in bot_posts(bot, GENERAL) if "resolved after" in m.text]
        # The announcement and the retro agree on how long it lasted.
        assert len(resolved) == 1 and "resolved after 2d 6h" in resolved[0].text
        assert "Error rate back to normal" in resolved[0].text
        assert "Resolved code red" in blocks_text(header(bot))

        retro = next(m for m in bot_posts(bot, war_room(bot).id) if "retro" in m.text.lower())
        text = blocks_text(retro)
        assert "*Duration*: 2d 6h" in text
        assert "red 1d 3h → orange 1d 3h" in text
        assert "*Check-in participation*: 4/5 (80%)" in text, "Bob missed Tuesday"
        assert "*Blockers*: 1 raised · 1 cleared" in text
        assert "Search revamp" in text and f"New onboarding (<@{ERIN}>)" in text
        assert f"<@{DAVE}> Tue 10 Mar → Wed 11 Mar" in text

        resume = [m.text for m in dm_messages(bot, ERIN) if "time to resume it" in m.text]
        assert len(resume) == 1 and "New onboarding" in resume[0]
        assert "has ended" not in str([m.text for m in dm_messages(bot, DAVE)])
        # The check-in stops with the code red.
        _, checkins = await tick_all(bot, clock, at("2026-03-12 09:00"))
        assert checkins.prompts == 0
        assert "no code red in progress" in await codered(bot, "status")
        async with bot.rt.sessions() as session:
            assert await service.active(session) is None
        assert "already resolved" not in await codered(bot, "resolve again")


async def test_level_outlasting_its_maximum_asks_the_owner(db_url: str) -> None:
    config = {**CONFIG, "codered": {**CONFIG["codered"], "max_level_days": {"red": 2}}}
    async with clock_at(at("2026-03-09 06:00")) as clock, quiet_bot(db_url, **config) as bot:
        await declare(bot)
        assert (await tick_all(bot, clock, at("2026-03-11 05:59")))[0].reconfirms == 0
        assert (await tick_all(bot, clock, at("2026-03-11 06:01")))[0].reconfirms == 1
        assert (await tick_all(bot, clock, at("2026-03-11 07:00")))[0].reconfirms == 0
        question = of_kind(dm_messages(bot, ALICE), "codered.notice")[-1]
        assert "longer than its maximum" in question.text
        dm = bot.state.im_with(ALICE).id

        await bot.slack.block_action(DAVE, "codered.keep_level", channel=dm, message_ts=question.ts)
        await bot.settle()
        assert "longer than its maximum" in bot.state.message(dm, question.ts).text, "refused"
        await bot.slack.block_action(
            ALICE, "codered.keep_level", channel=dm, message_ts=question.ts
        )
        await bot.settle()
        assert "stays red" in bot.state.message(dm, question.ts).text
        # Kept: the clock restarts, so two more days pass before the next question.
        assert (await tick_all(bot, clock, at("2026-03-13 06:59")))[0].reconfirms == 0
        assert (await tick_all(bot, clock, at("2026-03-13 07:01")))[0].reconfirms == 1
        second = of_kind(dm_messages(bot, ALICE), "codered.notice")[-1]
        await bot.slack.block_action(ALICE, "codered.step_down", channel=dm, message_ts=second.ts)
        await bot.settle()
        assert "stepped down from red to orange" in bot.state.message(dm, second.ts).text
        assert "CODE ORANGE" in blocks_text(header(bot))
        changes = [m.text for m in bot_posts(bot, GENERAL) if "level changed" in m.text]
        assert len(changes) == 1 and "stepped down after 4 days at red" in changes[0]
