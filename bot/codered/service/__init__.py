"""The rules of a code red: declaring it, changing its level, reconfirming, resolving.

Loans and paused initiatives are in `loans.py`; the timeline and notices in `timeline.py`; the
state the views draw in `cards.py` (with the live figures of `figures.py`); the `/codered` text in
`commands.py`; who may do what in `access.py`; settings, levels and names in `options.py`. The
scheduled side is `bot.codered.workflows.tick`. The check-in is a standup run by the standups
feature, created and steered through its service. Nothing here talks to Slack: side effects are
tasks, and the views watch the rows changed here (`watching.py`).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.codered.models import CodeRed, CodeRedLoan, CodeRedNotice, CodeRedPause, CodeRedSpan
from bot.codered.service.loans import end_loan, pause
from bot.codered.service.options import (
    CHECKIN_QUESTIONS,
    HEADER_VIEW,
    LEVELS,
    TASK_OPEN_CHANNEL,
    Options,
    lower_level,
    slugify,
)
from bot.codered.service.timeline import (
    MAX_TEXT,
    CodeRedError,
    add_event,
    add_notice,
    announce,
)
from bot.core import tasks, workspaces
from bot.core.db import utcnow
from bot.core.text import safe_url
from bot.standups import service as standups

__all__ = [
    # Tables other features' views watch (App Home).
    "CodeRed",
    "ActiveCodeRed",
    "CodeRedError",
    "DeclareForm",
    "active",
    "active_row",
    "declare",
]

MAX_FOCUS = 150


@dataclass
class DeclareForm:
    level: str
    focus: str
    owner: str
    exit_criteria: str
    target_date: dt.date | None = None
    participants: list[str] = field(default_factory=list)
    paused: list[str] = field(default_factory=list)
    call_link: str | None = None


def form_problems(form: DeclareForm) -> dict[str, str]:
    problems: dict[str, str] = {}
    if form.level not in LEVELS:
        problems["level"] = "Choose red, orange or yellow."
    if not form.focus.strip() or len(form.focus) > MAX_FOCUS:
        problems["focus"] = f"Name the focus in 1 to {MAX_FOCUS} characters."
    if not form.owner:
        problems["owner"] = "Name the owner."
    if not form.exit_criteria.strip():
        problems["exit"] = "Say what must be true for the code red to end."
    if form.call_link and safe_url(form.call_link) is None:
        problems["call"] = "The call link must be an http(s) URL."
    return problems


@dataclass(frozen=True)
class ActiveCodeRed:
    """What digests and App Home show of the code red in progress."""

    id: int
    level: str
    focus: str
    owner: str
    channel: str | None
    declared_at: dt.datetime
    level_since: dt.datetime

    @property
    def title(self) -> str:
        return self.focus


async def active_row(session: AsyncSession) -> CodeRed | None:
    return await session.scalar(select(CodeRed).where(CodeRed.active_slot == 1))


async def active(session: AsyncSession) -> ActiveCodeRed | None:
    """The code red in progress and its level, or None."""
    row = await active_row(session)
    if row is None:
        return None
    return ActiveCodeRed(
        row.id, row.level, row.focus, row.owner_id, row.channel_id, row.declared_at, row.level_since
    )


async def require_active(session: AsyncSession) -> CodeRed:
    row = await active_row(session)
    if row is None:
        raise CodeRedError("There is no code red in progress. `/codered declare` starts one.")
    return row


async def declare(
    session: AsyncSession,
    opts: Options,
    form: DeclareForm,
    declarer: str,
    now: dt.datetime | None = None,
) -> CodeRed:
    """Declare a code red; who may was decided by the access policy (`access.DECLARE`)."""
    now = now or utcnow()
    running = await active_row(session)
    if running is not None:
        raise CodeRedError(
            f"A code red is already in progress ({running.level}: {running.focus}). "
            "Change its level or resolve it first."
        )
    codered = CodeRed(
        slug=slugify(form.focus),
        level=form.level,
        focus=form.focus.strip()[:MAX_FOCUS],
        owner_id=form.owner,
        exit_criteria=form.exit_criteria.strip()[:MAX_TEXT],
        target_date=form.target_date,
        call_link=form.call_link,
        declared_by=declarer,
        declared_at=now,
        level_since=now,
        active_slot=1,
    )
    # Two declarations racing: the unique active_slot refuses the second (the caller reports it).
    session.add(codered)
    await session.flush()
    people = list(dict.fromkeys([form.owner, *form.participants]))
    checkin = await standups.create(
        session,
        standups.StandupSpec(
            name=f"Code red {codered.id}: {codered.focus}"[:80],
            channel=None,
            questions=list(CHECKIN_QUESTIONS),
            days=opts.days_for(form.level),
            minute_of_day=opts.checkin_minute,
            fixed_tz=None,
            reminder_minutes=opts.reminder_minutes,
            cutoff_minutes=opts.cutoff_minutes,
            users=people,
        ),
        declarer,
        owner_ref=f"codered:{codered.id}",
        watch=(HEADER_VIEW, str(codered.id)),
        now=now,
    )
    codered.standup_id = checkin.id
    home = workspaces.current()
    session.add_all(
        CodeRedSpan(codered_id=codered.id, team_id=team)
        for team in dict.fromkeys(opts.spans)
        if home is None or team != home.team_id
    )
    for initiative in form.paused:
        await pause(session, codered, initiative, None, declarer, now, quiet=True)
    await announce(session, codered, "declared", declarer, codered.focus, now)
    await tasks.enqueue(
        session, TASK_OPEN_CHANNEL, {"codered": codered.id}, key=f"{TASK_OPEN_CHANNEL}:{codered.id}"
    )
    return codered


async def store_channel(session: AsyncSession, codered_id: int, channel: str, name: str) -> None:
    """The war room exists: the header, the check-in digest and the announcement can use it
    (the header and the declaration watch the channel arrive)."""
    codered = await session.get(CodeRed, codered_id)
    if codered is None or codered.channel_id:
        return
    codered.channel_id, codered.channel_name = channel, name
    if codered.standup_id is not None:
        await standups.set_channel(session, codered.standup_id, channel)


async def rooms_elsewhere(session: AsyncSession, codered_id: int) -> dict[str, str | None]:
    """team -> war room of each workspace the code red spans (None: not opened yet)."""
    rows = await session.execute(
        select(CodeRedSpan.team_id, CodeRedSpan.channel_id)
        .where(CodeRedSpan.codered_id == codered_id)
        .order_by(CodeRedSpan.team_id)
    )
    return {team: channel for team, channel in rows}


async def store_channel_elsewhere(
    session: AsyncSession, codered_id: int, team: str, channel: str, name: str
) -> None:
    """The war room in a spanned workspace exists: its copy of the header can be posted (it
    watches the span)."""
    span = await session.scalar(
        select(CodeRedSpan).where(CodeRedSpan.codered_id == codered_id, CodeRedSpan.team_id == team)
    )
    if span is not None and span.channel_id is None:
        span.channel_id, span.channel_name = channel, name


async def is_war_room(session: AsyncSession, channel: str) -> bool:
    """Whether a channel is some code red's war room, in this workspace or one it spans."""
    found = await session.scalar(select(CodeRed.id).where(CodeRed.channel_id == channel))
    elsewhere = await session.scalar(
        select(CodeRedSpan.id).where(CodeRedSpan.channel_id == channel)
    )
    return found is not None or elsewhere is not None


async def change_level(
    session: AsyncSession,
    opts: Options,
    codered: CodeRed,
    level: str,
    reason: str,
    actor: str,
    now: dt.datetime | None = None,
) -> None:
    now = now or utcnow()
    if codered.resolved_at is not None:
        raise CodeRedError("This code red is over.")
    if level == codered.level:
        raise CodeRedError(f"The code red is already {level}.")
    previous = codered.level
    codered.level, codered.level_since, codered.level_confirmed_at = level, now, None
    if codered.standup_id is not None:
        await standups.set_days(session, codered.standup_id, opts.days_for(level))
    await announce(session, codered, "level", actor, f"{previous} → {level}: {reason}", now)
    # The same idempotent task that opened the war room brings its topic up to date.
    key = f"{TASK_OPEN_CHANNEL}:{codered.id}:{now.isoformat()}"
    await tasks.enqueue(session, TASK_OPEN_CHANNEL, {"codered": codered.id}, key=key)


async def answer_reconfirm(
    session: AsyncSession,
    opts: Options,
    notice_id: int,
    keep: bool,
    actor: str,
    now: dt.datetime | None = None,
) -> str:
    """The owner's answer to "this level has lasted long: keep it or step down?".

    Who may answer was decided by the access policy (`access.CHANGE` on the notice's code red).
    """
    now = now or utcnow()
    notice = await session.get(CodeRedNotice, notice_id)
    codered = await session.get(CodeRed, notice.codered_id) if notice else None
    if notice is None or codered is None or notice.kind != "reconfirm":
        raise CodeRedError("That question is no longer open.")
    if notice.answer or codered.resolved_at or codered.level != notice.data.get("level"):
        raise CodeRedError("That question was already answered.")
    lower = lower_level(codered.level)
    if keep or lower is None:
        codered.level_confirmed_at = now
        await add_event(session, codered, "reconfirmed", actor, f"kept {codered.level}", now)
        notice.answer = "kept"
    else:
        days = int(notice.data.get("days") or 0)
        reason = f"stepped down after {days} days at {codered.level}"
        await change_level(session, opts, codered, lower, reason, actor, now)
        notice.answer = "stepped_down"
    notice.answered_by = actor
    return notice.answer


async def resolve(
    session: AsyncSession,
    codered: CodeRed,
    summary: str,
    actor: str,
    now: dt.datetime | None = None,
) -> None:
    now = now or utcnow()
    if codered.resolved_at is not None:
        raise CodeRedError("This code red is already resolved.")
    codered.resolved_at, codered.resolved_by = now, actor
    codered.summary, codered.active_slot = summary.strip()[:MAX_TEXT], None
    for loan in await active_loans(session, codered.id):
        await end_loan(session, codered, loan, "resolved", actor, now)
    if codered.standup_id is not None:
        await standups.archive(session, codered.standup_id)
    for paused in await session.scalars(
        select(CodeRedPause).where(
            CodeRedPause.codered_id == codered.id, CodeRedPause.owner_id.is_not(None)
        )
    ):
        key = f"resume:{paused.id}"
        await add_notice(
            session, codered.id, key, "resume", str(paused.owner_id), {"pause": paused.id}
        )
    await announce(session, codered, "resolved", actor, codered.summary, now)


async def active_loans(session: AsyncSession, codered_id: int) -> list[CodeRedLoan]:
    rows = await session.scalars(
        select(CodeRedLoan)
        .where(CodeRedLoan.codered_id == codered_id, CodeRedLoan.ended_at.is_(None))
        .order_by(CodeRedLoan.id)
    )
    return list(rows)
