"""Timeline marks: a message is on the timeline once, whatever pins and reactions say."""

from __future__ import annotations

from bot.core.db import transaction, utcnow
from bot.incidents.models import TimelineEntry
from bot.incidents.service import timeline
from tests.incidents.db import Sessions, count, declare

TS = "1700000000.000100"


async def test_timeline_marks_never_duplicate(sessions: Sessions) -> None:
    number = await declare(sessions)
    at = utcnow()

    async def mark(marker: str) -> bool:
        async with transaction(sessions) as session:
            return await timeline.mark_message(
                session,
                number,
                "1700000000.000100",
                marker,
                author="U0BOB",
                text="x",
                occurred_at=at,
            )

    async def unmark(marker: str) -> bool:
        async with transaction(sessions) as session:
            return await timeline.unmark_message(session, number, TS, marker)

    assert await mark("reaction:U0BOB") is True
    assert await mark("reaction:U0BOB") is False
    assert await mark("reaction:U0CAROL") is False
    assert await mark("pin") is False
    messages = (TimelineEntry.incident_id == number, TimelineEntry.kind == "message")
    assert await count(sessions, TimelineEntry, *messages) == 1
    assert await unmark("reaction:U0BOB") is False
    assert await unmark("pin") is False
    assert await count(sessions, TimelineEntry, *messages) == 1
    assert await unmark("reaction:U0CAROL") is True
    assert await count(sessions, TimelineEntry, *messages) == 0
