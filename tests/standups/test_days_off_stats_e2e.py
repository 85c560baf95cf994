"""Skip days and holidays send nothing; stats count response rates and streaks."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select

from bot.core.db import transaction
from bot.sandbox.seed import ALICE, BOB, STANDUP
from bot.standups import service
from bot.standups.models import StandupRun
from tests.standups.helpers import (
    at,
    channel_messages,
    clock_at,
    command,
    dm_messages,
    of_kind,
    quiet_bot,
    tick_at,
)

CREATE = f"create Daily <#C0STANDUP> 09:00 <@{ALICE}> <@{BOB}> tz=UTC days=mon-fri"


async def test_skip_days_and_holidays_send_nothing(db_url: str) -> None:
    holidays = ["2026-03-12"]
    async with (
        clock_at(at("2026-03-09 06:00")) as clock,
        quiet_bot(db_url, standups={"holidays": holidays}) as bot,
    ):
        await command(bot, CREATE, ALICE)
        answer = await command(bot, "skip 2026-03-10..2026-03-11", BOB)
        assert "Tue 10 Mar, Wed 11 Mar" in answer
        for day in ("09", "10", "11", "12", "13", "14"):
            for minute in ("09:00", "10:00", "12:00"):
                await tick_at(bot, clock, at(f"2026-03-{day} {minute}"), holidays)
        # Mon, Tue, Wed, Fri for Alice (Thursday is a holiday, Saturday is not a standup day).
        assert len(of_kind(dm_messages(bot, ALICE), "standups.prompt")) == 4
        # Mon and Fri for Bob: his skip days and the holiday sent him nothing.
        assert len(of_kind(dm_messages(bot, BOB), "standups.prompt")) == 2
        digests = channel_messages(bot, STANDUP)
        assert len(digests) == 4, "no digest on the holiday"
        tuesday = next(m for m in digests if "Tue 10 Mar" in m.text)
        assert f"<@{BOB}> (day off)" in str(tuesday.blocks)


async def test_stats_response_rate_and_streaks(db_url: str) -> None:
    async with clock_at(at("2026-03-02 06:00")) as clock, quiet_bot(db_url) as bot:
        await command(bot, CREATE, ALICE)
        start = dt.date(2026, 3, 2)
        # Two weeks of weekdays; Bob misses the second Wednesday.
        for offset in range(12):
            day = start + dt.timedelta(days=offset)
            if day.weekday() > 4:
                continue
            await tick_at(bot, clock, at(f"{day} 09:00"))
            # Answering through Slack is covered elsewhere; the service is quicker for 20 days.
            async with transaction(bot.rt.sessions) as session:
                run = await session.scalar(select(StandupRun).where(StandupRun.run_date == day))
                assert run is not None
                for user in (ALICE, BOB) if day != dt.date(2026, 3, 11) else (ALICE,):
                    await service.submit_answer(session, run.id, user, ["x", "y", "none"])
            await tick_at(bot, clock, at(f"{day} 12:00"))
        answer = await command(bot, "stats daily", BOB)
        assert f"<@{ALICE}>: 10/10 (100%) · streak 10 (best 10)" in answer
        assert f"<@{BOB}>: 9/10 (90%) · streak 2 (best 7)" in answer
        assert "Team: 19/20 (95%)" in answer
