"""The postmortem draft."""

from __future__ import annotations

import datetime as dt

from bot.incidents.service.state import EntryState
from bot.incidents.views import postmortem
from tests.incidents.factories import T0, incident


def test_draft_has_every_section_in_the_readers_time_zone() -> None:
    state = incident(
        status="resolved",
        mitigated_at=T0 + dt.timedelta(minutes=40),
        resolved_at=T0 + dt.timedelta(hours=1, minutes=30),
        summary="Rolled back the LB config",
    )
    names = {"U0ALICE": "Alice Martin", "U0BOB": "Bob Chen", "U0CAROL": "Carol Okafor"}
    text = postmortem.render(state, "Asia/Kolkata", names)
    for heading in ("## Summary", "## Impact", "## Durations", "## Roles", "## Timeline"):
        assert heading in text
    assert "Rolled back the LB config" in text
    assert "Payments fail with 502" in text
    # 09:05 UTC is 14:35 in Kolkata (UTC+5:30): the reader's clock, not the server's.
    assert "| 2026-03-14 14:35 | Bob Chen | LB health checks failing |" in text
    assert "Asia/Kolkata" in text
    assert "| Time to mitigate | 40m |" in text and "| Time to resolve | 1h 30m |" in text
    assert "- Commander: Bob Chen" in text and "- Scribe: unassigned" in text
    assert "- [ ] Alert on 502 rate (owner: Carol Okafor)" in text


def test_unknown_time_zone_falls_back_to_utc() -> None:
    text = postmortem.render(incident(), "Mars/Olympus")
    assert "All times are UTC" in text and "| 2026-03-14 09:05 |" in text


def test_mentions_become_names() -> None:
    role = EntryState(9, "role", "<@U0BOB|bob> is now scribe", "U0ALICE", T0)
    state = incident(timeline=(role,))
    text = postmortem.render(state, "UTC", {"U0BOB": "Bob Chen", "U0ALICE": "Alice Martin"})
    assert "| Alice Martin | @Bob Chen is now scribe |" in text
    assert "<@" not in text
