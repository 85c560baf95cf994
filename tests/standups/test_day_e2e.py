"""A standup day end to end: prompt, modal, answers, reminder, digest updated in place, cutoff."""

from __future__ import annotations

from sqlalchemy import func, select

from bot.sandbox.seed import ALICE, BOB, CAROL, STANDUP
from bot.standups.models import StandupAnswer, StandupDelivery
from tests.standups.helpers import (
    at,
    channel_messages,
    clock_at,
    command,
    dm_messages,
    quiet_bot,
    tick_at,
    write_standup,
)

CREATE = (
    f'create "Team daily" <#C0STANDUP|standup> 09:00 <@{ALICE}> <@{BOB}> <@{CAROL}> '
    "tz=UTC reminder=60 cutoff=120"
)


async def test_a_day_of_standup(db_url: str) -> None:
    async with clock_at(at("2026-03-10 07:00")) as clock, quiet_bot(db_url) as bot:
        assert "Standup created" in await command(bot, CREATE, ALICE)
        report = await tick_at(bot, clock, at("2026-03-10 09:00"))
        assert report.prompts == 3
        prompt = dm_messages(bot, ALICE)[0]
        assert "Team daily" in prompt.text and "Write standup" in str(prompt.blocks)
        digest = channel_messages(bot, STANDUP)
        assert len(digest) == 1 and "0 of 3 answered" in digest[0].text

        clock.move(at("2026-03-10 09:10"))
        await write_standup(bot, ALICE, ["shipped the importer", "review PRs", "none"])
        clock.move(at("2026-03-10 09:20"))
        await write_standup(bot, BOB, ["fixed flaky test", "deploy api", "waiting on DB access"])
        digest = channel_messages(bot, STANDUP)
        assert len(digest) == 1, "the digest is updated in place, not posted again"
        assert "2 of 3 answered" in digest[0].text
        blocks = str(digest[0].blocks)
        assert blocks.index("Blockers") < blocks.index("shipped the importer")
        assert f"<@{BOB}>: waiting on DB access" in blocks
        updates = [c for c in bot.state.calls_to("chat.update") if c.args.get("ts") == digest[0].ts]
        assert len(updates) >= 2
        assert "Thanks" in dm_messages(bot, ALICE)[0].text

        report = await tick_at(bot, clock, at("2026-03-10 10:00"))
        assert report.reminders == 1, "only Carol has not answered"
        assert len(dm_messages(bot, CAROL)) == 2 and len(dm_messages(bot, ALICE)) == 1
        assert "Reminder" in dm_messages(bot, CAROL)[1].text
        assert (await tick_at(bot, clock, at("2026-03-10 10:30"))).reminders == 0

        report = await tick_at(bot, clock, at("2026-03-10 11:00"))
        assert report.cutoffs == 3
        digest = channel_messages(bot, STANDUP)[0]
        assert f"Did not answer: <@{CAROL}>" in str(digest.blocks)

        # Editing after the cutoff is allowed, and shows.
        clock.move(at("2026-03-10 11:30"))
        await write_standup(bot, BOB, ["fixed flaky test", "deploy api", "none"])
        digest = channel_messages(bot, STANDUP)[0]
        assert "edited after the cutoff" in str(digest.blocks)
        assert "Blockers" not in str(digest.blocks)

        async with bot.rt.sessions() as session:
            prompts = await session.scalar(
                select(func.count())
                .select_from(StandupDelivery)
                .where(StandupDelivery.kind == "prompt")
            )
            answers = await session.scalar(select(func.count()).select_from(StandupAnswer))
        assert (prompts, answers) == (3, 2)


async def test_today_is_prefilled_from_the_day_before(db_url: str) -> None:
    async with clock_at(at("2026-03-10 07:00")) as clock, quiet_bot(db_url) as bot:
        await command(bot, CREATE, ALICE)
        await tick_at(bot, clock, at("2026-03-10 09:00"))
        await write_standup(bot, ALICE, ["a", "migrate billing", "none"])
        await tick_at(bot, clock, at("2026-03-11 09:00"))
        modal = await write_standup(bot, ALICE, ["migrated billing", "cleanup", ""])
        today_block = next(b for b in modal["blocks"] if b.get("block_id") == "q1")
        assert today_block["element"]["initial_value"] == "migrate billing"
        first_block = next(b for b in modal["blocks"] if b.get("block_id") == "q0")
        assert "initial_value" not in first_block["element"]
        assert len(channel_messages(bot, STANDUP)) == 2, "one digest per day"
