"""The rules of standups: creating, changing, pausing them; the API other features use.

The rest of the rules are beside this module: people, days off and loans in `people.py`; answers
in `answers.py`; read models in `queries.py` and `cards.py`; the `/standup` text in `commands.py`;
who may do what in `access.py`; names and limits in `kinds.py`; time arithmetic in `schedule.py`.
The scheduled side (prompts, reminders, cutoffs) lives in `bot.standups.workflows.tick`. Nothing
here talks to Slack: side effects are tasks, and the projector views that watch the rows changed
(`watching.py`) are marked dirty in the caller's transaction. Other features use this package
only, through the names this module exports.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from bot.config import Settings
from bot.core import tasks
from bot.core.db import utcnow
from bot.core.watches import changed
from bot.standups.models import Standup, StandupParticipant, StandupRun
from bot.standups.service import cards, queries, schedule
from bot.standups.service.access import STANDUP, shown_name
from bot.standups.service.answers import (
    AnswerForm,
    answer_form,
    blocker_of,
    question_roles,
    submit_answer,
)
from bot.standups.service.cards import DayStatus
from bot.standups.service.kinds import (
    DEFAULT_QUESTIONS,
    DIGEST_VIEW,
    MAX_CUTOFF_MINUTES,
    MAX_NAME,
    MAX_QUESTION,
    MAX_QUESTIONS,
    PROMPT_VIEW,
    REMINDER_VIEW,
    TASK_FETCH_TZ,
    TASK_JOIN,
    TASK_SYNC_GROUP,
    WRITE_ACTION,
    StandupError,
)
from bot.standups.service.people import (
    add_participant,
    away_rows,
    end_loan,
    ensure_timezones,
    participants,
    remove_participant,
    remove_participants,
    set_loan,
    skip_days,
    store_timezone,
    sync_group,
    user_timezone,
)
from bot.standups.service.queries import (
    Blocker,
    BlockerCounts,
    DueStandup,
    PersonStats,
    StandupSummary,
    summaries,
)
from bot.standups.service.watching import day_watches
from bot.standups.settings import SECTION

__all__ = [
    "holidays",
    "STANDUP",
    "WRITE_ACTION",
    # Tables other features' views watch (App Home: who takes part, the days that run).
    "StandupParticipant",
    "StandupRun",
    "StandupSummary",
    "summaries",
    "Blocker",
    "BlockerCounts",
    "DayStatus",
    "DueStandup",
    "PersonStats",
    "DEFAULT_QUESTIONS",
    "DIGEST_VIEW",
    "PROMPT_VIEW",
    "REMINDER_VIEW",
    "TASK_FETCH_TZ",
    "TASK_JOIN",
    "TASK_SYNC_GROUP",
    "AnswerForm",
    "StandupError",
    "StandupSpec",
    "add_participant",
    "answer_form",
    "archive",
    "away_rows",
    "blocker_counts",
    "blocker_of",
    "create",
    "day_watches",
    "due_today",
    "end_loan",
    "ensure_timezones",
    "latest_day",
    "open_blockers",
    "participants",
    "participation",
    "question_roles",
    "remove_participant",
    "set_channel",
    "set_days",
    "set_loan",
    "skip_days",
    "store_timezone",
    "submit_answer",
    "sync_group",
    "user_timezone",
]


@dataclass
class StandupSpec:
    """Everything a person chooses when creating or editing a standup."""

    name: str
    channel: str | None
    questions: list[str]
    days: tuple[int, ...]
    minute_of_day: int
    fixed_tz: str | None
    reminder_minutes: int
    cutoff_minutes: int
    users: list[str] = field(default_factory=list)
    usergroup: str | None = None
    group_members: list[str] = field(default_factory=list)


def spec_problems(spec: StandupSpec) -> dict[str, str]:
    """What is wrong with a spec, by field; empty when it can be saved."""
    problems: dict[str, str] = {}
    if not spec.name.strip() or len(spec.name.strip()) > MAX_NAME:
        problems["name"] = f"Give the standup a name of 1 to {MAX_NAME} characters."
    if not spec.channel:
        problems["channel"] = "Choose the channel where the digest goes."
    if not spec.users and not spec.group_members:
        problems["users"] = "Add at least one participant (people or a user group with members)."
    if not spec.questions or len(spec.questions) > MAX_QUESTIONS:
        problems["questions"] = f"Ask 1 to {MAX_QUESTIONS} questions, one per line."
    elif any(len(question) > MAX_QUESTION for question in spec.questions):
        problems["questions"] = f"Keep each question under {MAX_QUESTION} characters."
    if not spec.days:
        problems["days"] = "Pick at least one day of the week."
    if not 0 < spec.cutoff_minutes <= MAX_CUTOFF_MINUTES:
        problems["cutoff"] = f"The cutoff must be 1 to {MAX_CUTOFF_MINUTES} minutes after the time."
    elif not 0 < spec.reminder_minutes < spec.cutoff_minutes:
        problems["reminder"] = "The reminder must come after the prompt and before the cutoff."
    return problems


def name_key(name: str) -> str:
    return " ".join(name.lower().split())


async def find(session: AsyncSession, name: str) -> Standup | None:
    return await session.scalar(
        select(Standup).where(Standup.name_key == name_key(name), Standup.archived.is_(False))
    )


async def require(session: AsyncSession, name: str) -> Standup:
    found = await find(session, name)
    if found is None:
        raise StandupError(
            f"There is no standup called {shown_name(name)}. `/standup list` shows them."
        )
    return found


def check_editable(standup: Standup) -> None:
    """A standup another feature runs (a code red's check-in) is changed only through it.

    Who may change a standup at all is the access policy's `access.MANAGE`, checked at the gate.
    """
    if standup.owner_ref:
        kind = standup.owner_ref.split(":")[0]
        raise StandupError(
            f"{shown_name(standup.name)} is managed by /{kind} and cannot be changed here."
        )


async def create(
    session: AsyncSession,
    spec: StandupSpec,
    creator: str,
    *,
    owner_ref: str | None = None,
    watch: tuple[str, str] | None = None,
    now: dt.datetime | None = None,
) -> Standup:
    now = now or utcnow()
    name = " ".join(spec.name.split())
    taken = await session.scalar(select(Standup.id).where(Standup.name_key == name_key(name)))
    if taken is not None:
        raise StandupError(f"A standup called “{name}” already exists; choose another name.")
    standup = Standup(
        name=name,
        name_key=name_key(name),
        created_by=creator,
        created_at=now,
        owner_ref=owner_ref,
        watch_kind=watch[0] if watch else None,
        watch_id=watch[1] if watch else None,
    )
    _apply_spec(standup, spec)
    session.add(standup)
    await session.flush()
    await _set_people(session, standup, spec, now)
    await _after_change(session, standup)
    return standup


def _apply_spec(standup: Standup, spec: StandupSpec) -> None:
    standup.channel = spec.channel
    standup.questions = [question.strip() for question in spec.questions]
    standup.days = schedule.days_to_column(spec.days)
    standup.minute_of_day = spec.minute_of_day
    standup.fixed_tz = spec.fixed_tz
    standup.reminder_minutes = spec.reminder_minutes
    standup.cutoff_minutes = spec.cutoff_minutes
    standup.usergroup = spec.usergroup


async def update_spec(
    session: AsyncSession, standup: Standup, spec: StandupSpec, now: dt.datetime | None = None
) -> None:
    """Edit: new schedule and people; loans and today's deliveries stay as they are.

    Recent digests show the new name and people (they watch the standup and its participants).
    """
    name = " ".join(spec.name.split())
    if name_key(name) != standup.name_key:
        taken = await session.scalar(select(Standup.id).where(Standup.name_key == name_key(name)))
        if taken is not None:
            raise StandupError(f"A standup called “{name}” already exists; choose another name.")
        standup.name, standup.name_key = name, name_key(name)
    _apply_spec(standup, spec)
    await _set_people(session, standup, spec, now or utcnow())
    await _after_change(session, standup)


async def _set_people(
    session: AsyncSession, standup: Standup, spec: StandupSpec, now: dt.datetime
) -> None:
    await remove_participants(
        session,
        standup.id,
        StandupParticipant.source.in_(("user", "group")),
        StandupParticipant.user_id.not_in([*spec.users, *spec.group_members] or [""]),
    )
    for user in spec.users:
        await add_participant(session, standup.id, user, "user", now)
    for user in spec.group_members:
        await add_participant(session, standup.id, user, "group", now)


async def _after_change(session: AsyncSession, standup: Standup) -> None:
    people = await participants(session, standup.id)
    await ensure_timezones(session, people)
    if standup.channel:
        await tasks.enqueue(
            session, TASK_JOIN, {"channel": standup.channel}, key=f"{TASK_JOIN}:{standup.channel}"
        )


async def set_paused(session: AsyncSession, standup: Standup, paused: bool) -> None:
    standup.paused = paused


async def set_channel(session: AsyncSession, standup_id: int, channel: str) -> None:
    standup = await session.get(Standup, standup_id)
    if standup is not None:
        standup.channel = channel
        await _after_change(session, standup)


async def set_days(session: AsyncSession, standup_id: int, days: tuple[int, ...]) -> None:
    values = {"days": schedule.days_to_column(days)}
    await session.execute(update(Standup).where(Standup.id == standup_id).values(**values))
    await changed(session, Standup, id=standup_id, **values)


async def archive(session: AsyncSession, standup_id: int) -> None:
    """Stop a standup for good; its history stays for stats and retros."""
    values = {"archived": True, "name_key": f"#archived-{standup_id}"}
    await session.execute(update(Standup).where(Standup.id == standup_id).values(**values))
    await changed(session, Standup, id=standup_id, **values)


# -------------------------------------------------------------------- for other features
# Code red, digests and App Home read standups through these.

due_today = queries.due_today
participation = queries.participation
open_blockers = queries.open_blockers
blocker_counts = queries.blocker_counts
latest_day = cards.latest_day


def holidays(settings: Settings) -> frozenset[dt.date]:
    """The days no standup runs, for every feature that counts working days."""
    return schedule.holiday_set(settings.section(SECTION).holidays)
