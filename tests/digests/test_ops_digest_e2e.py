"""`/ops digest ...` through signed slash commands, and the weekly digest's chart."""

from __future__ import annotations

import datetime as dt
import io

import pytest
from sqlalchemy import select

from bot.core.db import utcnow
from bot.digests import service
from bot.digests.models import DigestRun, DigestSchedule
from bot.sandbox.seed import ALICE, BOB, CAROL, GENERAL, RANDOM, STANDUP
from tests.digests.conftest import (
    Clock,
    count,
    digest_bot,
    digests_in,
    fire,
    ops,
    runs,
    text_of,
)

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


async def schedules(bot) -> dict[str, DigestSchedule]:  # type: ignore[no-untyped-def]
    async with bot.rt.sessions() as session:
        return {row.channel: row for row in await session.scalars(select(DigestSchedule))}


async def test_setting_a_daily_then_weekly_digest_and_turning_it_off(db_url: str) -> None:
    config = {"digests": [{"channel": STANDUP, "cron": "0 17 * * fri", "timezone": "UTC"}]}
    async with digest_bot(db_url, **config) as bot:
        assert "No digest in <#C0GENERAL> yet" in await ops(bot, "digest")
        usage = await ops(bot, "help")
        for line in ("/ops digest weekly <day> HH:MM [time zone]", "/ops activity [on|off]"):
            assert line in usage
        assert "/incident" in usage and "/ci" in usage  # every command is listed
        answer = await ops(bot, "digest daily 09:00")  # Alice is in Europe/Paris
        assert answer.startswith("Daily digest for <#C0GENERAL>: every day at 09:00 (Europe/Paris)")
        assert "Next:" in answer
        row = (await schedules(bot))[GENERAL]
        assert (row.cadence, row.minute_of_day, row.timezone, row.set_by) == (
            "daily",
            540,
            "Europe/Paris",
            ALICE,
        )
        answer = await ops(bot, "digest weekly Monday 8:30 Asia/Kolkata", user=BOB)
        assert "every Monday at 08:30 (Asia/Kolkata)" in answer
        assert "gets a weekly digest every Monday at 08:30" in await ops(bot, "digest", user=CAROL)
        async with bot.rt.sessions() as session:
            in_force = await service.specs(session, bot.rt.settings.digests)
        crons = {spec.channel: (spec.cron, spec.timezone) for spec in in_force}
        assert crons == {
            STANDUP: ("0 17 * * fri", "UTC"),
            GENERAL: ("30 8 * * mon", "Asia/Kolkata"),
        }

        assert "config" in await ops(bot, "digest", channel=STANDUP)
        assert "No more digests in <#C0STANDUP>" in await ops(bot, "digest off", channel=STANDUP)
        assert "off in <#C0STANDUP>" in await ops(bot, "digest", channel=STANDUP)
        async with bot.rt.sessions() as session:
            in_force = await service.specs(session, bot.rt.settings.digests)
        assert [spec.channel for spec in in_force] == [GENERAL]  # off beats the config file


async def test_a_new_digest_does_not_fire_for_a_time_before_it_was_set(db_url: str) -> None:
    async with digest_bot(db_url) as bot:
        now = utcnow()
        hhmm = (now - dt.timedelta(minutes=5)).astimezone(dt.UTC).strftime("%H:%M")
        await ops(bot, f"digest daily {hhmm} UTC")
        assert await fire(bot, now) == []


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ("digest daily", "`digest daily` is written `/ops digest daily 09:00`"),
        ("digest daily 25:00", "`25:00` is not a time of day"),
        ("digest daily 09:00 Mars/Olympus", "`Mars/Olympus` is not a time zone"),
        ("digest weekly someday 09:00", "`someday` is not a day of the week"),
        ("digest hourly", "`hourly` is not a digest option"),
        ("digest now please", "`digest now` is written `/ops digest now`"),
        ('digest "unclosed', "could not read the command text"),
    ],
)
async def test_bad_digest_input_says_what_to_type_and_writes_nothing(
    db_url: str, text: str, says: str
) -> None:
    async with digest_bot(db_url) as bot:
        answer = await ops(bot, text)
        assert says in answer and "/ops digest daily HH:MM [time zone]" in answer
        assert await count(bot, DigestSchedule) == 0 and await count(bot, DigestRun) == 0


async def test_digest_where_the_bot_is_not_is_refused(db_url: str) -> None:
    async with digest_bot(db_url) as bot:
        answer = await ops(bot, "digest daily 09:00", channel=RANDOM)
        assert "I am not in <#C0RANDOM>" in answer
        assert await count(bot, DigestSchedule) == 0


async def test_digest_now_posts_even_a_quiet_one(db_url: str) -> None:
    async with digest_bot(db_url) as bot:
        answer = await ops(bot, "digest now")
        assert "Putting together a daily digest of <#C0GENERAL>" in answer
        await bot.settle()
        [digest] = digests_in(bot)
        assert "nothing to report" in digest.text and "times in Europe/Paris" in text_of(digest)
        [run] = await runs(bot)
        assert run.requested_by == ALICE and run.fire_time - run.window_start == dt.timedelta(1)


async def test_the_weekly_digest_carries_a_chart_that_opens_as_png(db_url: str) -> None:
    clock = Clock(utcnow() - dt.timedelta(days=2))
    async with digest_bot(db_url, clock) as bot:
        await bot.slack.user_message(GENERAL, BOB, "Anyone free to pair on the chart?")
        clock.at(utcnow())
        response = await bot.slack.command(
            "/incident", "declare Disk full sev2", user=ALICE, channel=GENERAL
        )
        assert response.status_code == 200
        await ops(bot, "digest weekly mon 09:00")
        assert "weekly digest" in await ops(bot, "digest now")
        await bot.settle()
        uploaded = await bot.state.wait_for(
            lambda: [f for f in bot.state.files.values() if f.completed], timeout=20
        )
        [file] = uploaded
        await bot.settle()
        assert file.channels == [GENERAL] and len(bot.state.files) == 1
        assert file.content is not None and file.content.startswith(PNG_SIGNATURE)
        from PIL import Image

        with Image.open(io.BytesIO(file.content)) as image:
            image.verify()
        with Image.open(io.BytesIO(file.content)) as image:
            assert image.format == "PNG" and image.size == (1000, 500)
        [run] = await runs(bot)
        assert run.period == "weekly" and run.chart_file_id == file.id
        [digest] = digests_in(bot)
        assert digest.text.startswith("Weekly digest") and "1 message from 1 person" in digest.text
        posted = [m for m in bot.state.messages(GENERAL) if m.user == bot.state.bot_user_id]
        assert posted[-1].files == [file.id]  # the chart follows its digest
        assert await fire(bot, utcnow()) == []  # no scheduled weekly digest due now
