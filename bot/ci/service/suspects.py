"""Suspects of a breakage: the commits between the last green and the first red, and who wrote
them as Slack users. The I/O (GitHub compare, users.lookupByEmail) lives in `bot/ci/workflows.py`;
this module only reads and writes the database.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.ci.models import CiAuthor, CiBreakage, CiPipeline, CiRun, CiSuspect
from bot.ci.service.events import Commit
from bot.core.db import insert_ignore, utcnow
from bot.core.watches import changed

FOUND_TTL = dt.timedelta(days=7)
MISSING_TTL = dt.timedelta(hours=6)


@dataclass(frozen=True)
class SuspectsJob:
    breakage_id: int
    provider: str
    repo: str
    last_green_sha: str | None
    first_red_sha: str
    done: bool


async def job(session: AsyncSession, breakage_id: int) -> SuspectsJob | None:
    row = (
        await session.execute(
            select(CiBreakage, CiPipeline, CiRun.sha)
            .join(CiPipeline, CiPipeline.id == CiBreakage.pipeline_id)
            .join(CiRun, CiRun.id == CiBreakage.first_red_run_id)
            .where(CiBreakage.id == breakage_id)
        )
    ).first()
    if row is None:
        return None
    breakage, pipeline, sha = row
    return SuspectsJob(
        breakage_id=breakage.id,
        provider=pipeline.provider,
        repo=pipeline.repo,
        last_green_sha=breakage.last_green_sha,
        first_red_sha=sha,
        done=breakage.suspects_ready,
    )


async def replace(session: AsyncSession, breakage_id: int, commits: Sequence[Commit]) -> None:
    """Swap the payload's guess for the full list (newest first, as people read a breakage)."""
    await session.execute(delete(CiSuspect).where(CiSuspect.breakage_id == breakage_id))
    await _insert(session, breakage_id, list(reversed(list(commits))))
    await changed(session, CiSuspect, breakage_id=breakage_id)


async def add(session: AsyncSession, breakage_id: int, commits: Sequence[Commit]) -> None:
    """The suspects a breakage opens with (the payload's guess), stored in the transaction that
    inserts the breakage: that insert already stands for everything the breakage starts with."""
    await _insert(session, breakage_id, commits)


async def _insert(session: AsyncSession, breakage_id: int, commits: Sequence[Commit]) -> None:
    for position, commit in enumerate(commits):
        await session.execute(
            insert_ignore(session, CiSuspect)
            .values(
                breakage_id=breakage_id,
                position=position,
                sha=commit.sha,
                message=commit.message,
                url=commit.url,
                author_name=(commit.author_name or "")[:255] or None,
                author_email=(commit.author_email or "")[:255] or None,
                author_login=(commit.author_login or "")[:255] or None,
            )
            .on_conflict_do_nothing(index_elements=["breakage_id", "sha"])
        )


async def listed(session: AsyncSession, breakage_id: int) -> list[CiSuspect]:
    rows = await session.scalars(
        select(CiSuspect).where(CiSuspect.breakage_id == breakage_id).order_by(CiSuspect.position)
    )
    return list(rows)


def from_config(suspect: CiSuspect, authors: Mapping[str, str]) -> str | None:
    """The `ci.authors` map: keys are emails, GitHub logins or names (case-insensitive)."""
    folded = {key.lower(): value for key, value in authors.items()}
    for key in (suspect.author_email, suspect.author_login, suspect.author_name):
        if key and key.lower() in folded:
            return folded[key.lower()]
    return None


async def cached(
    session: AsyncSession, emails: Sequence[str], now: dt.datetime | None = None
) -> dict[str, str | None]:
    """Unexpired lookups: email -> Slack user (None = known to have no Slack user)."""
    now = now or utcnow()
    if not emails:
        return {}
    rows = await session.scalars(
        select(CiAuthor).where(CiAuthor.email.in_([e.lower() for e in emails]))
    )
    return {row.email: row.slack_user for row in rows if row.expires_at > now}


async def remember(
    session: AsyncSession, email: str, slack_user: str | None, now: dt.datetime | None = None
) -> None:
    now = now or utcnow()
    expires = now + (FOUND_TTL if slack_user else MISSING_TTL)
    statement = insert_ignore(session, CiAuthor).values(
        email=email.lower()[:255], slack_user=slack_user, expires_at=expires
    )
    statement = statement.on_conflict_do_update(
        index_elements=["team_id", "email"], set_={"slack_user": slack_user, "expires_at": expires}
    )
    await session.execute(statement)


async def finish(session: AsyncSession, breakage_id: int, users: Mapping[str, str | None]) -> None:
    """Store who each suspect is on Slack (users: lowercase email or suspect sha -> user)."""
    breakage = await session.get(CiBreakage, breakage_id)
    if breakage is None or breakage.suspects_ready:
        return
    for suspect in await listed(session, breakage_id):
        email = (suspect.author_email or "").lower()
        suspect.slack_user = users.get(suspect.sha) or users.get(email)
    breakage.suspects_ready = True
