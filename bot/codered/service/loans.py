"""People on loan to the code red, and the register of initiatives paused for it.

A loan adds the person to the check-in and tells the standups feature they are away from their
regular standups (shown there as on loan) until the loan ends by itself, is returned, or the
code red is resolved.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.codered.models import CodeRed, CodeRedLoan, CodeRedPause
from bot.codered.service.options import TASK_INVITE
from bot.codered.service.timeline import (
    CodeRedError,
    add_event,
    add_notice,
    local_today,
)
from bot.core import tasks
from bot.core.db import utcnow
from bot.standups import service as standups

MAX_INITIATIVE = 200


def loan_ref(codered: CodeRed) -> str:
    return f"codered:{codered.id}"


async def active_loan(session: AsyncSession, codered_id: int, user: str) -> CodeRedLoan | None:
    return await session.scalar(
        select(CodeRedLoan).where(
            CodeRedLoan.codered_id == codered_id,
            CodeRedLoan.user_id == user,
            CodeRedLoan.ended_at.is_(None),
        )
    )


async def loan(
    session: AsyncSession,
    codered: CodeRed,
    user: str,
    until: dt.date | None,
    actor: str,
    now: dt.datetime | None = None,
) -> CodeRedLoan:
    """Move someone onto the code red until `until` (default: its target date, else its end)."""
    now = now or utcnow()
    today = await local_today(session, user, now)
    if until is not None and until < today:
        raise CodeRedError(f"{until:%a %d %b} has passed; give a date from today on.")
    if until is None and codered.target_date and codered.target_date >= today:
        until = codered.target_date
    label = f"code red: {codered.focus}"
    found = await active_loan(session, codered.id, user)
    if found is not None:
        found.until_date = until
        await standups.set_loan(session, user, loan_ref(codered), label, found.start_date, until)
        await add_event(session, codered, "loan", actor, _loan_text(user, until, "extended"), now)
        return found
    row = CodeRedLoan(
        codered_id=codered.id,
        user_id=user,
        by=actor,
        start_date=today,
        until_date=until,
        started_at=now,
    )
    session.add(row)
    await session.flush()
    if codered.standup_id is not None:
        await standups.add_participant(session, codered.standup_id, user, "loan", now)
    await standups.set_loan(session, user, loan_ref(codered), label, today, until)
    await add_notice(session, codered.id, f"loaned:{row.id}", "loaned", user, {"loan": row.id})
    await tasks.enqueue(
        session, TASK_INVITE, {"codered": codered.id, "user": user}, key=f"{TASK_INVITE}:{row.id}"
    )
    await add_event(session, codered, "loan", actor, _loan_text(user, until, "on loan"), now)
    return row


def _loan_text(user: str, until: dt.date | None, what: str) -> str:
    return f"<@{user}> {what}" + (f" until {until:%a %d %b}" if until else " until the end")


async def return_loan(
    session: AsyncSession, codered: CodeRed, user: str, actor: str, now: dt.datetime | None = None
) -> None:
    now = now or utcnow()
    found = await active_loan(session, codered.id, user)
    if found is None:
        raise CodeRedError(f"<@{user}> is not on loan to this code red.")
    await end_loan(session, codered, found, "returned", actor, now)


async def end_loan(
    session: AsyncSession,
    codered: CodeRed,
    row: CodeRedLoan,
    reason: str,
    actor: str,
    now: dt.datetime,
) -> None:
    """The person goes back: off the check-in, back in their regular standups from today."""
    today = await local_today(session, row.user_id, now)
    last_day = row.until_date if reason == "ended" and row.until_date else today - dt.timedelta(1)
    row.ended_at, row.end_reason = now, reason
    if codered.standup_id is not None:
        await standups.remove_participant(session, codered.standup_id, row.user_id, "loan")
    await standups.end_loan(session, row.user_id, loan_ref(codered), last_day)
    await add_event(session, codered, "loan_end", actor, f"<@{row.user_id}> back ({reason})", now)
    if reason != "resolved":
        key = f"loan_ended:{row.id}"
        await add_notice(session, codered.id, key, "loan_ended", row.user_id, {"loan": row.id})


async def pause(
    session: AsyncSession,
    codered: CodeRed,
    initiative: str,
    owner: str | None,
    actor: str,
    now: dt.datetime | None = None,
    *,
    quiet: bool = False,
) -> CodeRedPause:
    """Register an initiative paused for the code red; its owner is asked to resume at the end."""
    now = now or utcnow()
    name = " ".join(initiative.split())[:MAX_INITIATIVE]
    if not name:
        raise CodeRedError("Name the initiative to pause.")
    key = name.lower()
    row = await session.scalar(
        select(CodeRedPause).where(CodeRedPause.codered_id == codered.id, CodeRedPause.key == key)
    )
    if row is None:
        row = CodeRedPause(
            codered_id=codered.id,
            key=key,
            initiative=name,
            owner_id=owner,
            paused_by=actor,
            paused_at=now,
        )
        session.add(row)
        await session.flush()
    elif owner:
        row.owner_id = owner
    if not quiet:
        text = f"paused {name}" + (f" (owner <@{owner}>)" if owner else "")
        await add_event(session, codered, "pause", actor, text, now)
    return row
