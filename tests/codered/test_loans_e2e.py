"""Loans: the person joins the check-in, shows as on loan at home, is reminded, and returns."""

from __future__ import annotations

from sqlalchemy import select

from bot.codered.models import CodeRedLoan
from bot.sandbox.seed import ALICE, DAVE, ERIN, STANDUP
from tests.codered.helpers import CONFIG, blocks_text, codered, declare, header, tick_all, war_room
from tests.standups.helpers import (
    at,
    channel_messages,
    clock_at,
    command,
    dm_messages,
    of_kind,
    quiet_bot,
)

HOME = f'create "Frontend daily" <#{STANDUP}> 09:00 <@{DAVE}> <@{ERIN}> tz=UTC'


def prompts(bot: object, user: str, name: str) -> int:
    return len([m for m in of_kind(dm_messages(bot, user), "standups.prompt") if name in m.text])


async def test_loan_lifecycle(db_url: str) -> None:
    # Dave is in Kolkata (UTC+5:30): his dates turn at 18:30 UTC.
    async with clock_at(at("2026-03-09 20:00")) as clock, quiet_bot(db_url, **CONFIG) as bot:
        await command(bot, HOME, ALICE)
        await declare(bot)
        assert "not a date" in await codered(bot, f"loan <@{DAVE}> until someday")
        assert "has passed" in await codered(bot, f"loan <@{DAVE}> until 2026-03-01")
        answer = await codered(bot, f"loan <@{DAVE}> until 2026-03-12")
        assert "until Thu 12 Mar" in answer
        assert DAVE in war_room(bot).members
        assert "on loan to the code red *Checkout errors* until Thu 12 Mar" in str(
            [m.text for m in dm_messages(bot, DAVE)]
        )
        assert f"<@{DAVE}> until Thu 12 Mar" in blocks_text(header(bot))

        # Wednesday 09:00 in Kolkata: the reminder the day before, to Dave and to the owner.
        report, _ = await tick_all(bot, clock, at("2026-03-11 03:29"))
        assert report.loan_reminders == 0
        # 10:00 in Kolkata: the check-in asks Dave; the reminders are not sent twice.
        report, _ = await tick_all(bot, clock, at("2026-03-11 04:30"))
        assert report.loan_reminders == 2
        assert (await tick_all(bot, clock, at("2026-03-11 04:31")))[0].loan_reminders == 0
        for user in (DAVE, ALICE):
            reminders = [m for m in dm_messages(bot, user) if "ends tomorrow" in m.text]
            assert len(reminders) == 1, user
        assert prompts(bot, DAVE, "Code red") == 1
        # His home standup does not ask him, and shows him as on loan.
        await tick_all(bot, clock, at("2026-03-11 09:00"))
        assert prompts(bot, DAVE, "Frontend daily") == 0 and prompts(bot, ERIN, "Frontend") == 1
        home = next(m for m in channel_messages(bot, STANDUP) if "Frontend daily" in m.text)
        loaned = f"<@{DAVE}> (on loan: code red: Checkout errors until Thu 12 Mar)"
        assert loaned in blocks_text(home)
        await tick_all(bot, clock, at("2026-03-12 04:30"))

        # Friday in Kolkata: the loan has ended by itself.
        report, _ = await tick_all(bot, clock, at("2026-03-12 18:29"))
        assert report.loans_ended == 0
        report, _ = await tick_all(bot, clock, at("2026-03-12 18:30"))
        assert report.loans_ended == 1
        assert "has ended" in dm_messages(bot, DAVE)[-1].text
        assert "On loan*: nobody" in blocks_text(header(bot))
        await tick_all(bot, clock, at("2026-03-13 04:30"))
        await tick_all(bot, clock, at("2026-03-13 09:00"))
        assert prompts(bot, DAVE, "Code red") == 2, "Wednesday and Thursday only"
        assert prompts(bot, DAVE, "Frontend daily") == 1, "back in his home standup on Friday"
        async with bot.rt.sessions() as session:
            loan = await session.scalar(select(CodeRedLoan))
        assert loan is not None and loan.end_reason == "ended"


async def test_return_and_loan_without_end_date(db_url: str) -> None:
    async with clock_at(at("2026-03-09 20:00")), quiet_bot(db_url, **CONFIG) as bot:
        await declare(bot)
        assert "until the code red ends" in await codered(bot, f"loan <@{ERIN}>")
        assert "Only the owner" in await codered(bot, f"return <@{ERIN}>", user=DAVE)
        assert "loan has ended" in await codered(bot, f"return <@{ERIN}>")
        assert "is not on loan" in await codered(bot, f"return <@{ERIN}>")
        assert "Name the person" in await codered(bot, "loan erin")
