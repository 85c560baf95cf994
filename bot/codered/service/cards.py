"""State of the code red views: the pinned header, announcements, the retro, the notices."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.codered.models import (
    CodeRed,
    CodeRedEvent,
    CodeRedLoan,
    CodeRedNotice,
    CodeRedPause,
    CodeRedSpan,
)
from bot.codered.service import figures
from bot.codered.service.options import Options, lower_level, zone
from bot.codered.service.timeline import day_number, day_start
from bot.core import workspaces
from bot.core.db import utcnow
from bot.standups import service as standups

TIMELINE_SHOWN = 6


@dataclass(frozen=True)
class PauseItem:
    initiative: str
    owner: str | None


@dataclass(frozen=True)
class LoanItem:
    user: str
    start: dt.date
    until: dt.date | None
    ended_at: dt.datetime | None = None


@dataclass(frozen=True)
class EventItem:
    at: dt.datetime
    kind: str
    actor: str
    text: str
    level: str | None


@dataclass(frozen=True)
class Basics:
    id: int
    level: str
    focus: str
    owner: str
    channel: str | None
    call_link: str | None
    declared_at: dt.datetime
    resolved_at: dt.datetime | None
    summary: str | None
    tz: str


@dataclass(frozen=True)
class HeaderState:
    basics: Basics
    exit_criteria: str
    target_date: dt.date | None
    day: int
    pauses: tuple[PauseItem, ...]
    loans: tuple[LoanItem, ...]
    checkin: standups.DayStatus | None
    live: figures.Figures
    timeline: tuple[EventItem, ...]


async def basics(session: AsyncSession, codered: CodeRed, room_of: str | None = None) -> Basics:
    """What every view of a code red shows; `room_of`: as seen from a workspace it spans, whose
    own war room is the one to link."""
    tz = await standups.user_timezone(session, codered.owner_id) or "UTC"
    channel = codered.channel_id
    if room_of is not None:
        channel = await session.scalar(
            select(CodeRedSpan.channel_id).where(
                CodeRedSpan.codered_id == codered.id, CodeRedSpan.team_id == room_of
            )
        )
    return Basics(
        id=codered.id,
        level=codered.level,
        focus=codered.focus,
        owner=codered.owner_id,
        channel=channel,
        call_link=codered.call_link,
        declared_at=codered.declared_at,
        resolved_at=codered.resolved_at,
        summary=codered.summary,
        tz=tz,
    )


async def pauses(session: AsyncSession, codered_id: int) -> tuple[PauseItem, ...]:
    rows = await session.scalars(
        select(CodeRedPause).where(CodeRedPause.codered_id == codered_id).order_by(CodeRedPause.id)
    )
    return tuple(PauseItem(row.initiative, row.owner_id) for row in rows)


async def loans(
    session: AsyncSession, codered_id: int, *, ended: bool = False
) -> tuple[LoanItem, ...]:
    query = select(CodeRedLoan).where(CodeRedLoan.codered_id == codered_id)
    if not ended:
        query = query.where(CodeRedLoan.ended_at.is_(None))
    rows = await session.scalars(query.order_by(CodeRedLoan.id))
    return tuple(loan_item(row) for row in rows)


def loan_item(row: CodeRedLoan) -> LoanItem:
    return LoanItem(row.user_id, row.start_date, row.until_date, row.ended_at)


async def events(session: AsyncSession, codered_id: int) -> list[EventItem]:
    rows = await session.scalars(
        select(CodeRedEvent)
        .where(CodeRedEvent.codered_id == codered_id)
        .order_by(CodeRedEvent.at, CodeRedEvent.id)
    )
    return [EventItem(row.at, row.kind, row.actor, row.text, row.level) for row in rows]


async def header_state(
    session: AsyncSession, codered_id: int, room_of: str | None = None
) -> HeaderState | None:
    """The header of the war room, or of the war room in workspace `room_of` that it spans."""
    codered = await session.get(CodeRed, codered_id)
    if codered is None or codered.channel_id is None:
        return None  # the war room is being created; it marks the header dirty when ready
    now = codered.resolved_at or utcnow()
    base = await basics(session, codered, room_of)
    if base.channel is None:
        return None  # that workspace's war room is being created, likewise
    owner_zone = zone(base.tz)
    checkin = None
    if codered.standup_id is not None:
        checkin = await standups.latest_day(session, codered.standup_id)
    return HeaderState(
        basics=base,
        exit_criteria=codered.exit_criteria,
        target_date=codered.target_date,
        day=day_number(codered, owner_zone, now),
        pauses=await pauses(session, codered.id),
        loans=await loans(session, codered.id),
        checkin=checkin,
        live=await figures.read(session, day_start(owner_zone, now), now),
        timeline=tuple((await events(session, codered.id))[-TIMELINE_SHOWN:]),
    )


@dataclass(frozen=True)
class AnnounceState:
    channel: str
    event: EventItem
    basics: Basics
    lasted: dt.timedelta  # from declaration to this event


async def home_of(
    session: AsyncSession, model: type[CodeRed] | type[CodeRedEvent], row_id: int
) -> workspaces.Workspace | None:
    """The workspace of a code red or its event, whichever workspace asks: for their copies in
    the workspaces the code red spans (the one reading across workspaces, by design)."""
    row = (
        await session.execute(
            select(model.team_id, model.enterprise_id).where(model.id == row_id),
            execution_options={workspaces.ALL_WORKSPACES: True},
        )
    ).first()
    return workspaces.Workspace(row.team_id, row.enterprise_id) if row and row.team_id else None


async def announce_state(
    session: AsyncSession,
    opts: Options,
    event_id: int,
    channel: str | None,
    room_of: str | None = None,
) -> AnnounceState | None:
    """An announcement of `event_id`, to be posted in `channel` (none: not announced), in the
    code red's workspace or in `room_of`, one it spans (which links its own war room)."""
    row = await session.get(CodeRedEvent, event_id)
    codered = await session.get(CodeRed, row.codered_id) if row else None
    if row is None or codered is None or not channel:
        return None
    end = codered.resolved_at or row.at
    return AnnounceState(
        channel=channel,
        event=EventItem(row.at, row.kind, row.actor, row.text, row.level),
        basics=await basics(session, codered, room_of),
        lasted=end - codered.declared_at,
    )


@dataclass(frozen=True)
class RetroState:
    basics: Basics
    duration: dt.timedelta
    levels: tuple[tuple[str, dt.timedelta], ...]
    participation: tuple[standups.PersonStats, ...]
    blockers: standups.BlockerCounts
    pauses: tuple[PauseItem, ...]
    loans: tuple[LoanItem, ...]


def level_spans(
    timeline: list[EventItem], end: dt.datetime
) -> tuple[tuple[str, dt.timedelta], ...]:
    marks = [(e.at, e.level) for e in timeline if e.kind in ("declared", "level") and e.level]
    spans = []
    for index, (start, level) in enumerate(marks):
        stop = marks[index + 1][0] if index + 1 < len(marks) else end
        spans.append((str(level), stop - start))
    return tuple(spans)


async def retro_state(session: AsyncSession, codered_id: int) -> RetroState | None:
    codered = await session.get(CodeRed, codered_id)
    if codered is None or codered.resolved_at is None or codered.channel_id is None:
        return None
    base = await basics(session, codered)
    people: tuple[standups.PersonStats, ...] = ()
    counts = standups.BlockerCounts(0, 0)
    if codered.standup_id is not None:
        since = codered.declared_at.date() - dt.timedelta(days=1)
        until = codered.resolved_at.date() + dt.timedelta(days=1)
        people = tuple(await standups.participation(session, codered.standup_id, since, until))
        counts = await standups.blocker_counts(session, codered.standup_id)
    return RetroState(
        basics=base,
        duration=codered.resolved_at - codered.declared_at,
        levels=level_spans(await events(session, codered.id), codered.resolved_at),
        participation=people,
        blockers=counts,
        pauses=await pauses(session, codered.id),
        loans=await loans(session, codered.id, ended=True),
    )


@dataclass(frozen=True)
class NoticeState:
    id: int
    kind: str
    target: str
    basics: Basics
    data: dict[str, Any]
    answer: str | None
    answered_by: str | None
    lower_level: str | None = None
    loan: LoanItem | None = None
    initiative: str | None = None
    blockers: tuple[standups.Blocker, ...] = field(default_factory=tuple)


async def notice_state(session: AsyncSession, notice_id: int) -> NoticeState | None:
    notice = await session.get(CodeRedNotice, notice_id)
    codered = await session.get(CodeRed, notice.codered_id) if notice else None
    if notice is None or codered is None:
        return None
    extra: dict[str, Any] = {}
    if "loan" in notice.data:
        row = await session.get(CodeRedLoan, int(notice.data["loan"]))
        if row is not None:
            extra["loan"] = loan_item(row)
    if "pause" in notice.data:
        paused = await session.get(CodeRedPause, int(notice.data["pause"]))
        extra["initiative"] = paused.initiative if paused else None
    if notice.kind == "call" and codered.standup_id is not None:
        extra["blockers"] = tuple(await standups.open_blockers(session, codered.standup_id))
    return NoticeState(
        id=notice.id,
        kind=notice.kind,
        target=notice.target,
        basics=await basics(session, codered),
        data=dict(notice.data),
        answer=notice.answer,
        answered_by=notice.answered_by,
        lower_level=lower_level(str(notice.data.get("level") or codered.level)),
        **extra,
    )
