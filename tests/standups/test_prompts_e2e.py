"""Prompts reach each person at their own local time, across daylight-saving changes."""

from __future__ import annotations

from bot.sandbox.seed import ALICE, BOB
from tests.standups.helpers import at, clock_at, command, dm_messages, quiet_bot, tick_at

CREATE = f'create "Team daily" <#C0STANDUP|standup> 09:00 <@{ALICE}> <@{BOB}> days=mon-fri'


async def test_prompts_follow_each_persons_zone_across_dst(db_url: str) -> None:
    async with clock_at(at("2026-03-06 06:00")) as clock, quiet_bot(db_url) as bot:
        answer = await command(bot, CREATE, ALICE)
        assert "Standup created" in answer
        # Friday: Paris is UTC+1, Los Angeles UTC-8.
        assert (await tick_at(bot, clock, at("2026-03-06 07:59"))).prompts == 0
        assert (await tick_at(bot, clock, at("2026-03-06 08:00"))).prompts == 1
        assert len(dm_messages(bot, ALICE)) == 1 and not dm_messages(bot, BOB)
        assert (await tick_at(bot, clock, at("2026-03-06 16:59"))).prompts == 0
        assert (await tick_at(bot, clock, at("2026-03-06 17:00"))).prompts == 1
        assert len(dm_messages(bot, BOB)) == 1
        # Monday after the US change (8 March): 09:00 in Los Angeles is now 16:00 UTC.
        assert (await tick_at(bot, clock, at("2026-03-09 08:00"))).prompts == 1  # Alice
        assert (await tick_at(bot, clock, at("2026-03-09 15:59"))).prompts == 0
        assert len(dm_messages(bot, BOB)) == 1
        assert (await tick_at(bot, clock, at("2026-03-09 16:00"))).prompts == 1
        assert len(dm_messages(bot, BOB)) == 2
        # Monday after the EU change (29 March): 09:00 in Paris is now 07:00 UTC.
        alice_before = len(dm_messages(bot, ALICE))
        assert (await tick_at(bot, clock, at("2026-03-30 06:59"))).prompts == 0
        assert (await tick_at(bot, clock, at("2026-03-30 07:00"))).prompts == 1
        assert len(dm_messages(bot, ALICE)) == alice_before + 1


async def test_a_moved_time_zone_is_picked_up_on_refresh(db_url: str) -> None:
    async with clock_at(at("2026-03-10 06:00")) as clock, quiet_bot(db_url) as bot:
        await command(bot, f"create Daily <#C0STANDUP> 09:00 <@{BOB}>", ALICE)
        assert (await tick_at(bot, clock, at("2026-03-10 16:00"))).prompts == 1  # 09:00 PDT
        bot.state.users[BOB].tz = "Europe/London"
        # A day later the cached zone is stale: the job asks Slack again, then uses the answer.
        assert (await tick_at(bot, clock, at("2026-03-11 08:00"))).prompts == 0
        assert (await tick_at(bot, clock, at("2026-03-11 09:00"))).prompts == 1
        assert len(dm_messages(bot, BOB)) == 2
        fetched = [c for c in bot.state.calls_to("users.info") if c.args.get("user") == BOB]
        assert len(fetched) == 2
