"""Answers: the modal's content, storing what people wrote, and who is shown as blocked."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.core.db import utcnow
from bot.standups.models import Standup, StandupAnswer, StandupDelivery, StandupRun
from bot.standups.service.kinds import MAX_ANSWER, NO_BLOCKER, StandupError


def question_roles(questions: list[str]) -> tuple[int | None, int | None]:
    """(index of the 'today' question, index of the 'blockers' question), found by their words."""
    lowered = [question.lower() for question in questions]
    blocker = next((i for i, q in enumerate(lowered) if "block" in q or "imped" in q), None)
    today = next((i for i, q in enumerate(lowered) if "today" in q and i != blocker), None)
    return today, blocker


def blocker_of(questions: list[str], answers: list[str]) -> str | None:
    _, index = question_roles(questions)
    if index is None or index >= len(answers):
        return None
    text = (answers[index] or "").strip()
    return None if text.lower().rstrip(".!") in NO_BLOCKER else text


# -------------------------------------------------------------------- answers


@dataclass(frozen=True)
class AnswerForm:
    run_id: int
    standup_name: str
    run_date: dt.date
    questions: list[str]
    initial: list[str]
    blocker_index: int | None
    editing: bool


async def _delivery(session: AsyncSession, run_id: int, user: str) -> StandupDelivery | None:
    return await session.scalar(
        select(StandupDelivery).where(
            StandupDelivery.run_id == run_id,
            StandupDelivery.user_id == user,
            StandupDelivery.kind == "prompt",
        )
    )


async def answer_form(session: AsyncSession, run_id: int, user: str) -> AnswerForm:
    """The modal's content: current answers when editing, else 'today' from the day before."""
    run = await session.get(StandupRun, run_id)
    standup = await session.get(Standup, run.standup_id) if run else None
    if run is None or standup is None or await _delivery(session, run_id, user) is None:
        raise StandupError("This standup was not sent to you.")
    questions = list(standup.questions)
    today_index, blocker_index = question_roles(questions)
    current = await _answer(session, run_id, user)
    if current is not None:
        initial = [str(a or "") for a in current.answers] + [""] * len(questions)
    else:
        initial = [""] * len(questions)
        previous = await _previous_answer(session, standup.id, user, run.run_date)
        if previous is not None and today_index is not None:
            earlier = list(previous.answers)
            initial[today_index] = (
                str(earlier[today_index] or "") if today_index < len(earlier) else ""
            )
    return AnswerForm(
        run_id=run_id,
        standup_name=standup.name,
        run_date=run.run_date,
        questions=questions,
        initial=initial[: len(questions)],
        blocker_index=blocker_index,
        editing=current is not None,
    )


async def _answer(session: AsyncSession, run_id: int, user: str) -> StandupAnswer | None:
    return await session.scalar(
        select(StandupAnswer).where(StandupAnswer.run_id == run_id, StandupAnswer.user_id == user)
    )


async def _previous_answer(
    session: AsyncSession, standup_id: int, user: str, before: dt.date
) -> StandupAnswer | None:
    return await session.scalar(
        select(StandupAnswer)
        .where(
            StandupAnswer.standup_id == standup_id,
            StandupAnswer.user_id == user,
            StandupAnswer.run_date < before,
        )
        .order_by(StandupAnswer.run_date.desc())
        .limit(1)
    )


async def submit_answer(
    session: AsyncSession,
    run_id: int,
    user: str,
    answers: list[str],
    now: dt.datetime | None = None,
) -> StandupAnswer:
    """Store (or replace) someone's answers; after their cutoff the answer is marked as such."""
    now = now or utcnow()
    run = await session.get(StandupRun, run_id)
    standup = await session.get(Standup, run.standup_id) if run else None
    delivery = await _delivery(session, run_id, user)
    if run is None or standup is None or delivery is None:
        raise StandupError("This standup was not sent to you.")
    cleaned = [(text or "").strip()[:MAX_ANSWER] for text in answers][: len(standup.questions)]
    late = now >= delivery.cutoff_at
    row = await _answer(session, run_id, user)
    if row is None:
        row = StandupAnswer(
            run_id=run_id,
            standup_id=standup.id,
            user_id=user,
            run_date=run.run_date,
            submitted_at=now,
            late=late,
            edited_after_cutoff=False,
        )
        session.add(row)
    else:
        row.edited_after_cutoff = row.edited_after_cutoff or late
    row.answers = cleaned
    row.blocker = blocker_of(list(standup.questions), cleaned)
    row.updated_at = now
    await session.flush()
    return row
