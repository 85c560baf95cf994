"""Suspects of a breakage: the commits between the last green and the first red, and who wrote
them as Slack users. The I/O (GitHub compare, users.lookupByEmail) lives in `bot/ci/workflows/`;
this module only reads and writes the database.

One breakage is posted in each workspace its routes name, and one author is a different Slack
user in each (user ids are per workspace outside an Enterprise Grid org). So who a suspect is
is never stored on the suspect: it is `ci.authors` as the workspace sees them, else that
workspace's `CiAuthor` answer, both read within the workspace whose view is drawn (`users_here`).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.ci.models import CiAuthor, CiBreakage, CiBreakagePost, CiPipeline, CiRun, CiSuspect
from bot.ci.service.events import Commit
from bot.core import workspaces
from bot.core.db import insert_ignore, utcnow
from bot.core.watches import changed

FOUND_TTL = dt.timedelta(days=7)
MISSING_TTL = dt.timedelta(hours=6)
# Addresses GitHub invents for people who hide theirs: no Slack account will ever match.
UNMATCHABLE_EMAIL = ("@users.noreply.github.com", "noreply@github.com")


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


def _email(suspect: CiSuspect) -> str:
    return (suspect.author_email or "").lower()


def to_look_up(listed: Sequence[CiSuspect], authors: Mapping[str, str]) -> list[str]:
    """The emails (lowercase, once each) of the suspects `ci.authors` does not name and Slack
    could know."""
    emails: list[str] = []
    for suspect in listed:
        email = _email(suspect)
        if from_config(suspect, authors) or not email or email.endswith(UNMATCHABLE_EMAIL):
            continue
        if email not in emails:
            emails.append(email)
    return emails


async def _answers(session: AsyncSession, emails: Sequence[str]) -> dict[str, CiAuthor]:
    """The stored lookup of each email that the workspace the work is within sees: its own
    answer before one from before it was named (`UNKNOWN`), then the freshest."""
    if not emails:
        return {}
    rows = await session.scalars(
        select(CiAuthor).where(CiAuthor.email.in_(sorted({e.lower() for e in emails})))
    )
    team = workspaces.current_team()
    best: dict[str, CiAuthor] = {}
    for row in sorted(rows, key=lambda row: (row.team_id == team, row.expires_at)):
        best[row.email] = row  # the better ones come last
    return best


async def cached(
    session: AsyncSession, emails: Sequence[str], now: dt.datetime | None = None
) -> dict[str, str | None]:
    """Unexpired lookups of the workspace the work is within: email -> Slack user (None =
    known to have no Slack user)."""
    now = now or utcnow()
    answers = await _answers(session, emails)
    return {email: row.slack_user for email, row in answers.items() if row.expires_at > now}


async def remember(
    session: AsyncSession, email: str, slack_user: str | None, now: dt.datetime | None = None
) -> None:
    """Store a lookup's answer for the workspace the work is within (the row's team)."""
    now = now or utcnow()
    expires = now + (FOUND_TTL if slack_user else MISSING_TTL)
    statement = insert_ignore(session, CiAuthor).values(
        email=email.lower()[:255], slack_user=slack_user, expires_at=expires
    )
    statement = statement.on_conflict_do_update(
        index_elements=["team_id", "email"], set_={"slack_user": slack_user, "expires_at": expires}
    )
    await session.execute(statement)


async def users_here(
    session: AsyncSession, listed: Sequence[CiSuspect], authors: Mapping[str, str]
) -> dict[str, str]:
    """sha -> the suspect's Slack user in the workspace the work is within: `authors` (its
    `ci.authors`), else its last lookup of the email, expired or not (the answer a breakage's
    views were drawn with stays theirs until Slack says otherwise). Suspects nobody knows are
    left out."""
    answers = await _answers(session, [_email(s) for s in listed if _email(s)])
    users: dict[str, str] = {}
    for suspect in listed:
        answer = answers.get(_email(suspect))
        user = from_config(suspect, authors) or (answer.slack_user if answer else None)
        if user:
            users[suspect.sha] = user
    return users


async def posted_teams(session: AsyncSession, breakage_id: int) -> list[str]:
    """The workspaces a breakage is posted in ("": a route naming none, single-workspace)."""
    teams = await session.scalars(
        select(CiBreakagePost.team_id)
        .where(CiBreakagePost.breakage_id == breakage_id)
        .order_by(CiBreakagePost.id)
    )
    return list(teams)


async def finish(session: AsyncSession, breakage_id: int) -> None:
    """Every workspace the breakage is posted in knows who its suspects are: their thread
    lines may be drawn (`suspects_ready` is what marks them)."""
    breakage = await session.get(CiBreakage, breakage_id)
    if breakage is not None and not breakage.suspects_ready:
        breakage.suspects_ready = True
