"""What digests and App Home read through `bot.standups.service`."""

from __future__ import annotations

import datetime as dt

from bot.sandbox.seed import ALICE, BOB
from bot.standups import service
from tests.standups.helpers import at, clock_at, command, quiet_bot, tick_at, write_standup

CREATE = f"create Daily <#C0STANDUP> 09:00 <@{ALICE}> <@{BOB}> days=mon-fri"


async def test_due_today_participation_and_open_blockers(db_url: str) -> None:
    async with clock_at(at("2026-03-10 06:00")) as clock, quiet_bot(db_url) as bot:
        await command(bot, CREATE, ALICE)
        weekly = f'create "Weekly" <#C0STANDUP> 15:00 <@{BOB}> days=mon tz=UTC'
        assert "Standup created" in await command(bot, weekly, ALICE)
        async with bot.rt.sessions() as session:
            due = await service.due_today(session, ALICE, at("2026-03-10 07:30"))
        assert [(d.name, d.status) for d in due] == [("Daily", "upcoming")]
        assert due[0].prompt_at == at("2026-03-10 08:00")  # 09:00 in Paris

        await tick_at(bot, clock, at("2026-03-10 08:00"))
        await write_standup(bot, ALICE, ["a", "b", "need a reviewer"])
        async with bot.rt.sessions() as session:
            due = await service.due_today(session, ALICE, at("2026-03-10 08:30"))
            bob_due = await service.due_today(session, BOB, at("2026-03-10 17:00"))
            blockers = await service.open_blockers(session)
            rows = await service.participation(
                session, due[0].standup_id, dt.date(2026, 3, 1), dt.date(2026, 3, 31)
            )
        assert [d.status for d in due] == ["answered"]
        assert [(d.name, d.status) for d in bob_due] == [("Daily", "waiting")]
        assert [(b.standup, b.user, b.text) for b in blockers] == [
            ("Daily", ALICE, "need a reviewer")
        ]
        assert {(r.user, r.asked, r.answered) for r in rows} == {(ALICE, 1, 1), (BOB, 0, 0)}
