"""The timeline from Slack messages: pins and reactions mark a message; marks never duplicate."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import delete, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.core.db import affected, insert_ignore, utcnow
from bot.core.watches import changed
from bot.incidents.models import TimelineEntry, TimelineMark


async def mark_message(
    session: AsyncSession,
    incident_id: int,
    message_ts: str,
    marker: str,
    *,
    author: str | None,
    text: str,
    occurred_at: dt.datetime,
) -> bool:
    """Put a Slack message on the timeline. True only when the entry is new."""
    await session.execute(
        insert_ignore(session, TimelineMark)
        .values(incident_id=incident_id, message_ts=message_ts, marker=marker)
        .on_conflict_do_nothing(index_elements=["incident_id", "message_ts", "marker"])
    )
    inserted = await session.execute(
        insert_ignore(session, TimelineEntry)
        .values(
            incident_id=incident_id,
            kind="message",
            text=text,
            author_id=author,
            occurred_at=occurred_at,
            message_ts=message_ts,
            created_at=utcnow(),
        )
        .on_conflict_do_nothing(index_elements=["incident_id", "message_ts"])
    )
    if affected(inserted) == 1:
        await changed(session, TimelineEntry, incident_id=incident_id, kind="message")
        return True
    return False


async def unmark_message(
    session: AsyncSession, incident_id: int, message_ts: str, marker: str
) -> bool:
    """Take one mark off; the entry goes when no pin or reaction keeps it. True if it went."""
    await session.execute(
        delete(TimelineMark).where(
            TimelineMark.incident_id == incident_id,
            TimelineMark.message_ts == message_ts,
            TimelineMark.marker == marker,
        )
    )
    remaining = await session.scalar(
        select(func.count(TimelineMark.id)).where(
            TimelineMark.incident_id == incident_id, TimelineMark.message_ts == message_ts
        )
    )
    if remaining:
        return False
    removed = await session.execute(
        delete(TimelineEntry).where(
            TimelineEntry.incident_id == incident_id,
            TimelineEntry.message_ts == message_ts,
            TimelineEntry.kind == "message",
        )
    )
    if affected(removed):
        await changed(session, TimelineEntry, incident_id=incident_id, kind="message")
        return True
    return False
