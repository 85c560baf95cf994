"""Who a suspect is, as each workspace reads it (`suspects.users_here`, `suspects.cached`), on
SQLite and PostgreSQL: its own `ci.authors`, else its own lookup, before one stored before the
workspace was named."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.ci.models import CiSuspect
from bot.ci.service import suspects
from bot.core.db import transaction
from bot.core.workspaces import Workspace, within
from tests.ci.conftest import T0, later

Sessions = async_sessionmaker[AsyncSession]
AN_HOUR_LATER = later(60)
HOME, BETA, GAMMA = Workspace("T0HOME"), Workspace("T0BETA"), Workspace("T0GAMMA")
ALICE = CiSuspect(sha="a" * 40, author_name="Alice", author_email="Alice@Example.com")
BOB = CiSuspect(sha="b" * 40, author_name="Bob", author_email="bob@example.com")
HIDDEN = CiSuspect(sha="c" * 40, author_login="matfax", author_email="1+m@users.noreply.github.com")


async def remember(sessions: Sessions, workspace: Workspace | None, email: str, user: str) -> None:
    with within(workspace):
        async with transaction(sessions) as session:
            await suspects.remember(session, email, user, now=T0)


async def users(
    sessions: Sessions, workspace: Workspace, authors: dict[str, str] | None = None
) -> dict[str, str]:
    with within(workspace):
        async with sessions() as session:
            return await suspects.users_here(session, [ALICE, BOB, HIDDEN], authors or {})


async def test_each_workspace_reads_its_own_answer(sessions: Sessions) -> None:
    await remember(sessions, None, "alice@example.com", "U0OLD")  # before any workspace was named
    await remember(sessions, HOME, "alice@example.com", "U0ALICE")
    await remember(sessions, BETA, "alice@example.com", "U0BALICE")
    await remember(sessions, BETA, "bob@example.com", "U0BBOB")
    assert await users(sessions, HOME) == {ALICE.sha: "U0ALICE"}
    assert await users(sessions, BETA) == {ALICE.sha: "U0BALICE", BOB.sha: "U0BBOB"}
    # A workspace with no answer of its own reads the one from before workspaces were named.
    assert await users(sessions, GAMMA) == {ALICE.sha: "U0OLD"}
    # Its `ci.authors` come first (by email, login or name).
    named = {"BOB": "U0GBOB", "matfax": "U0MATFAX"}
    assert await users(sessions, GAMMA, named) == {
        ALICE.sha: "U0OLD",
        BOB.sha: "U0GBOB",
        HIDDEN.sha: "U0MATFAX",
    }
    with within(BETA):
        async with sessions() as session:
            fresh = await suspects.cached(session, ["alice@example.com"], now=AN_HOUR_LATER)
    assert fresh == {"alice@example.com": "U0BALICE"}


def test_only_what_the_workspace_does_not_name_is_looked_up() -> None:
    assert suspects.to_look_up([ALICE, BOB, HIDDEN, ALICE], {}) == [
        "alice@example.com",
        "bob@example.com",
    ]
    assert suspects.to_look_up([ALICE, BOB], {"alice": "U0ALICE"}) == ["bob@example.com"]
