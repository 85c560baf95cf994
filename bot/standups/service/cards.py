"""State of the standup views: the channel digest, the DM prompt and reminder, the day's status."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.standups.models import (
    Standup,
    StandupAnswer,
    StandupDelivery,
    StandupRun,
    UserTimezone,
)
from bot.standups.service.answers import question_roles
from bot.standups.service.people import away_rows, is_away, participants


@dataclass(frozen=True)
class PersonAnswer:
    user: str
    answers: list[str]
    blocker: str | None
    late: bool
    edited: bool


@dataclass(frozen=True)
class AwayNote:
    user: str
    kind: str
    label: str
    until: dt.date | None


@dataclass(frozen=True)
class DigestState:
    run_id: int
    name: str
    channel: str | None
    run_date: dt.date
    questions: list[str]
    blocker_index: int | None
    answered: list[PersonAnswer]
    waiting: list[str]
    missed: list[str]
    away: list[AwayNote]
    prompted: int


async def digest_state(session: AsyncSession, run_id: int) -> DigestState | None:
    run = await session.get(StandupRun, run_id)
    standup = await session.get(Standup, run.standup_id) if run else None
    if run is None or standup is None:
        return None
    deliveries = list(
        await session.scalars(select(StandupDelivery).where(StandupDelivery.run_id == run_id))
    )
    prompted = {d.user_id for d in deliveries if d.kind == "prompt"}
    closed = {d.user_id for d in deliveries if d.kind == "cutoff"}
    answers = list(
        await session.scalars(
            select(StandupAnswer)
            .where(StandupAnswer.run_id == run_id)
            .order_by(StandupAnswer.submitted_at, StandupAnswer.id)
        )
    )
    done = {answer.user_id for answer in answers}
    order = [d.user_id for d in sorted(deliveries, key=lambda d: d.id) if d.kind == "prompt"]
    return DigestState(
        run_id=run.id,
        name=standup.name,
        channel=standup.channel,
        run_date=run.run_date,
        questions=list(standup.questions),
        blocker_index=question_roles(list(standup.questions))[1],
        answered=[
            PersonAnswer(a.user_id, list(a.answers), a.blocker, a.late, a.edited_after_cutoff)
            for a in answers
        ],
        waiting=[user for user in order if user not in done and user not in closed],
        missed=[user for user in order if user not in done and user in closed],
        away=await _away_notes(session, standup, run.run_date, prompted),
        prompted=len(prompted),
    )


async def _away_notes(
    session: AsyncSession, standup: Standup, day: dt.date, prompted: set[str]
) -> list[AwayNote]:
    people = [user for user in await participants(session, standup.id)]
    notes = []
    for row in await away_rows(session, people, day, day):
        if row.user_id not in prompted and is_away([row], day, standup):
            notes.append(AwayNote(row.user_id, row.kind, row.label, row.end_date))
    return sorted(notes, key=lambda note: (note.kind, note.user))


@dataclass(frozen=True)
class PromptState:
    delivery_id: int
    kind: str
    user: str
    name: str
    channel: str | None
    run_id: int
    run_date: dt.date
    cutoff_at: dt.datetime
    tz: str | None
    answered: bool
    closed: bool


async def prompt_state(session: AsyncSession, delivery_id: int) -> PromptState | None:
    delivery = await session.get(StandupDelivery, delivery_id)
    standup = await session.get(Standup, delivery.standup_id) if delivery else None
    if delivery is None or standup is None:
        return None
    kinds = set(
        await session.scalars(
            select(StandupDelivery.kind).where(
                StandupDelivery.run_id == delivery.run_id,
                StandupDelivery.user_id == delivery.user_id,
            )
        )
    )
    answered = await session.scalar(
        select(StandupAnswer.id).where(
            StandupAnswer.run_id == delivery.run_id, StandupAnswer.user_id == delivery.user_id
        )
    )
    return PromptState(
        delivery_id=delivery.id,
        kind=delivery.kind,
        user=delivery.user_id,
        name=standup.name,
        channel=standup.channel,
        run_id=delivery.run_id,
        run_date=delivery.run_date,
        cutoff_at=delivery.cutoff_at,
        tz=standup.fixed_tz
        or await session.scalar(
            select(UserTimezone.tz).where(UserTimezone.user_id == delivery.user_id)
        ),
        answered=answered is not None,
        closed="cutoff" in kinds,
    )


@dataclass(frozen=True)
class DayStatus:
    run_date: dt.date | None
    asked: int
    answered: int
    blockers: int
    waiting: list[str]


async def latest_day(session: AsyncSession, standup_id: int) -> DayStatus:
    """The most recent day this standup ran: who was asked, who answered."""
    run = await session.scalar(
        select(StandupRun)
        .where(StandupRun.standup_id == standup_id)
        .order_by(StandupRun.run_date.desc())
        .limit(1)
    )
    if run is None:
        return DayStatus(None, 0, 0, 0, [])
    state = await digest_state(session, run.id)
    assert state is not None
    return DayStatus(
        run_date=run.run_date,
        asked=state.prompted,
        answered=len(state.answered),
        blockers=sum(1 for answer in state.answered if answer.blocker),
        waiting=state.waiting + state.missed,
    )
