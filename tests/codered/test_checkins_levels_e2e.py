"""The check-in runs by the standup machinery at the level's cadence; levels change and announce."""

from __future__ import annotations

from bot.sandbox.seed import ALICE, BOB, CAROL, DAVE, GENERAL
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


async def test_red_checkin_digest_header_and_call_agenda(db_url: str) -> None:
    # Tuesday 10 March 2026; Alice (owner) is in Paris, Carol in Lagos: both UTC+1.
    async with clock_at(at("2026-03-10 08:00")) as clock, quiet_bot(db_url, **CONFIG) as bot:
        await declare(bot)
        room = war_room(bot).id
        _, checkins = await tick_all(bot, clock, at("2026-03-10 09:00"))
        assert checkins.prompts == 2, "10:00 for Alice and Carol; Bob in Los Angeles later"
        assert "0/2 answered" in blocks_text(header(bot))
        await write_standup(bot, ALICE, ["rolled back cache", "alerting", "none"])
        await write_standup(bot, CAROL, ["traced 502s", "pool size", "need prod DB creds"])
        digest = [m for m in bot_posts(bot, room) if "Code red 1" in m.text]
        assert len(digest) == 1 and "Blockers" in blocks_text(digest[0])
        assert "2/2 answered · 1 blocker(s)" in blocks_text(header(bot))

        # The call reminder comes 30 minutes before 16:00 Paris, once, with the blockers.
        report, _ = await tick_all(bot, clock, at("2026-03-10 14:29"))
        assert report.calls == 0
        # This time through the scheduler, as a replica's firing would run it.
        clock.move(at("2026-03-10 14:30"))
        assert await bot.rt.scheduler.fire("codered.tick")
        await bot.settle()
        assert (await tick_all(bot, clock, at("2026-03-10 14:45")))[0].calls == 0
        call = of_kind(bot_posts(bot, room), "codered.notice")
        assert len(call) == 1 and "Code red call at 16:00" in call[0].text
        assert f"<@{CAROL}>: need prod DB creds" in call[0].text
        assert "https://meet.example/cr" in call[0].text


async def test_level_changes_cadence_announces_and_refuses_bad_input(db_url: str) -> None:
    async with clock_at(at("2026-03-09 06:00")) as clock, quiet_bot(db_url, **CONFIG) as bot:
        await declare(bot)
        answer = await codered(bot, "level purple because")
        assert "`purple` is not a level" in answer and "/codered level" in answer
        assert "Only the owner" in await codered(bot, "level orange calmer", user=DAVE)
        assert "already red" in await codered(bot, "level red again", user=BOB)
        assert "CODE RED" in blocks_text(header(bot))

        assert "now yellow" in await codered(bot, "level yellow the fix is out", user=BOB)
        assert "CODE YELLOW" in blocks_text(header(bot))
        levels = [m.text for m in bot_posts(bot, GENERAL) if "level changed" in m.text]
        assert len(levels) == 1 and "red → yellow: the fix is out" in levels[0]
        assert war_room(bot).topic.startswith("Code yellow")
        # Yellow checks in on Monday and Thursday only; no call reminders.
        prompts = []
        for day in ("10", "11", "12"):
            report, checkins = await tick_all(bot, clock, at(f"2026-03-{day} 09:00"))
            prompts.append(checkins.prompts)
            report, _ = await tick_all(bot, clock, at(f"2026-03-{day} 14:30"))
            assert report.calls == 0
        assert prompts == [0, 0, 2]
        assert len(of_kind(dm_messages(bot, ALICE), "standups.prompt")) == 1
