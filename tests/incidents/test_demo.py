"""The incidents scene of `opsbot demo` plays through."""

from __future__ import annotations

from bot.incidents.service import kinds
from bot.sandbox.acts import incidents as demo
from tests.incidents.e2e import INCIDENTS, incident_bot, incident_row, posts_of


async def test_demo_act(db_url: str) -> None:
    async with incident_bot(db_url) as bot:
        out: list[str] = []
        await demo.act(bot, out)
        incident = await incident_row(bot, 1)
        assert incident.resolved_at is not None and incident.postmortem_file_id
        assert any("#incidents" in line for line in out)
        assert any("# Postmortem: incident #1" in line for line in out)
        assert any("502s began right after deploy 4812" in line for line in out)
        assert len(posts_of(bot, kinds.CARD)) == len(posts_of(bot, kinds.ANNOUNCEMENT)) == 1
        assert bot.state.channel(INCIDENTS) is not None
