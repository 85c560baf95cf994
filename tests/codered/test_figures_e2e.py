"""The header's live figures come from the incidents and CI features, and survive their absence."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from bot.ci import service as ci_service
from bot.incidents import service as incidents_service
from bot.sandbox.seed import ALICE, INCIDENTS
from tests.codered.helpers import CONFIG, blocks_text, declare, header, tick_all
from tests.standups.helpers import at, clock_at, quiet_bot


async def test_header_shows_open_incidents_and_red_ci_minutes(
    db_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    seen: list[tuple[dt.datetime, dt.datetime]] = []

    async def red_minutes(
        session: AsyncSession, start: dt.datetime, end: dt.datetime, now: dt.datetime
    ) -> dict[tuple[str, str], float]:
        seen.append((start, end))
        return {("octo-org/octo-repo", "main"): 42.4, ("octo-org/api", "main"): 10.0}

    monkeypatch.setattr(ci_service, "red_minutes_by_branch", red_minutes)
    config = {**CONFIG, "incidents": {"announce_channel": INCIDENTS}}
    async with clock_at(at("2026-03-10 08:00")) as clock, quiet_bot(db_url, **config) as bot:
        await declare(bot)
        assert "red CI today: 52 min" in blocks_text(header(bot))
        assert "open incidents: 0" in blocks_text(header(bot))
        response = await bot.slack.command(
            "/incident", "declare Payments are failing sev1", user=ALICE, channel=INCIDENTS
        )
        assert response.status_code == 200
        await bot.settle()
        report, _ = await tick_all(bot, clock, at("2026-03-10 08:05"))
        assert report.header_redrawn
        assert "open incidents: 1" in blocks_text(header(bot))
        # "Today" starts at midnight where the owner (Paris) is.
        assert seen[-1][0] == at("2026-03-09 23:00")
        assert not (await tick_all(bot, clock, at("2026-03-10 08:06")))[0].header_redrawn


async def test_missing_figures_show_na(db_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delattr(incidents_service, "open_incidents")

    async def broken(*_: object) -> dict[tuple[str, str], float]:
        raise RuntimeError("ci is down")

    monkeypatch.setattr(ci_service, "red_minutes_by_branch", broken)
    async with clock_at(at("2026-03-10 08:00")), quiet_bot(db_url, **CONFIG) as bot:
        await declare(bot)
        text = blocks_text(header(bot))
        assert "open incidents: n/a" in text and "red CI today: n/a" in text
