"""Who may see, change and answer standups: the feature's declarations for the access policy.

Refs are always a record's numeric id. A command that names a standup resolves the name first
(`service.find`, as the command itself does) and hands the gate the id it found.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.core.access import (
    ADMINS,
    CHANNEL_READERS,
    OWNERS,
    PARTICIPANTS,
    RecordPolicy,
    Subject,
    record_id,
)
from bot.core.text import by_person, mrkdwn
from bot.standups.models import Standup, StandupDelivery, StandupRun
from bot.standups.service.kinds import MAX_NAME
from bot.standups.service.people import participants

STANDUP = "standup"
PROMPT = "standup_prompt"  # one day's prompt (a run): answered by the people it was sent to
MANAGE, ANSWER = "change", "answer"


def shown_name(name: str) -> str:
    """A standup's name as a refusal or answer quotes it: typed by a person, so escaped."""
    return f"“{mrkdwn(by_person(name), MAX_NAME)}”"


async def _standup(session: AsyncSession, ref: object) -> Standup | None:
    number = record_id(ref)
    found = await session.get(Standup, number) if number is not None else None
    return found if found is not None and not found.archived else None


async def delivered_to(session: AsyncSession, run_id: int) -> frozenset[str]:
    """Who a run's prompt was sent to: the delivery rows `answers.submit_answer` also needs."""
    rows = await session.scalars(
        select(StandupDelivery.user_id).where(
            StandupDelivery.run_id == run_id, StandupDelivery.kind == "prompt"
        )
    )
    return frozenset(rows)


def record_policies() -> tuple[RecordPolicy, ...]:
    """A standup is seen by those who read its channel and its people, changed by its creator;
    a day's prompt is answered by the people it was sent to."""

    async def load_standup(session: AsyncSession, ref: str) -> Subject | None:
        standup = await _standup(session, ref)
        if standup is None:
            return None
        return Subject(
            STANDUP,
            str(standup.id),
            shown_name(standup.name),
            channel=standup.channel,
            owners=frozenset({standup.created_by}),
            participants=frozenset(await participants(session, standup.id)),
        )

    async def load_prompt(session: AsyncSession, ref: str) -> Subject | None:
        number = record_id(ref)
        run = await session.get(StandupRun, number) if number is not None else None
        standup = await _standup(session, run.standup_id) if run is not None else None
        if run is None or standup is None:
            return None
        return Subject(
            PROMPT,
            str(run.id),
            f"the {shown_name(standup.name)} prompt of {run.run_date:%a %d %b}",
            channel=standup.channel,
            # Whoever was sent the prompt answers it, even if taken off the standup since.
            owners=await delivered_to(session, run.id),
        )

    return (
        RecordPolicy(
            STANDUP,
            load_standup,
            see=ADMINS | OWNERS | PARTICIPANTS | CHANNEL_READERS,
            verbs={MANAGE: (OWNERS | ADMINS).named("{owners} or an admin")},
            missing="There is no standup called that. `/standup list` shows them.",
        ),
        RecordPolicy(
            PROMPT,
            load_prompt,
            see=ADMINS | OWNERS | CHANNEL_READERS,
            verbs={ANSWER: OWNERS.named("the people it was sent to")},
            missing="This standup was not sent to you.",
        ),
    )
