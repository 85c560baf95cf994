"""Incident numbers are counted per workspace, on SQLite and PostgreSQL: two workspaces of one
deployment each number theirs 1, 2, ..., a number typed in one names that workspace's
incident, and declarations racing in one workspace all get a number of their own."""

from __future__ import annotations

import asyncio
import re

from sqlalchemy import select

from bot.core.db import make_engine, make_sessionmaker, transaction
from bot.core.workspaces import Workspace, within
from bot.incidents import service
from bot.incidents.models import Incident
from bot.incidents.service.state import Options
from bot.sandbox.acts import workspaces as beta
from bot.sandbox.acts.workspaces import BEA, BETA, BETA_GENERAL
from bot.sandbox.harness import BotUnderTest, running_bot
from bot.sandbox.seed import ALICE, GENERAL
from bot.sandbox.state import TEAM_ID
from tests.workspaces.helpers import install_in, say

OPTIONS = Options(
    severities=("sev1", "sev2"), statuses=("investigating", "resolved"), roles=("commander",)
)
RACERS = 8


async def _numbers(bot: BotUnderTest) -> set[tuple[str, int, str, str]]:
    async with bot.rt.sessions() as session:
        rows = await session.execute(
            select(Incident.team_id, Incident.number, Incident.title, Incident.status)
        )
        return {tuple(row) for row in rows}  # type: ignore[misc]


async def _two_workspaces(bot: BotUnderTest) -> None:
    beta.add_beta(bot)
    bot.state.valid_tokens = set()  # only installed tokens work
    await install_in(bot, TEAM_ID)
    await install_in(bot, BETA)


async def test_each_workspace_numbers_its_incidents_from_one(db_url: str) -> None:
    async with running_bot(db_url, oauth=True) as bot:
        await _two_workspaces(bot)
        # Interleaved, so one sequence for both would give Beta 2, 4 and 5.
        assert "Incident #1 declared" in await say(bot, "declare Home one", ALICE, GENERAL)
        assert "Incident #1 declared" in await say(bot, "declare Beta one", BEA, BETA_GENERAL)
        assert "Incident #2 declared" in await say(bot, "declare Home two", ALICE, GENERAL)
        assert "Incident #2 declared" in await say(bot, "declare Beta two", BEA, BETA_GENERAL)
        assert "Incident #3 declared" in await say(bot, "declare Beta three", BEA, BETA_GENERAL)
        assert {(team, number, title) for team, number, title, _ in await _numbers(bot)} == {
            (TEAM_ID, 1, "Home one"),
            (TEAM_ID, 2, "Home two"),
            (BETA, 1, "Beta one"),
            (BETA, 2, "Beta two"),
            (BETA, 3, "Beta three"),
        }

        # What people read shows the workspace's number: the card, the topic, the list.
        async with bot.rt.sessions() as session:
            channel = await session.scalar(
                select(Incident.channel_id).where(Incident.title == "Beta one")
            )
        assert channel is not None
        assert any("Incident #1: Beta one" in m.text for m in bot.state.messages(channel))
        topics = [
            str(c.args.get("topic"))
            for c in bot.state.calls_to("conversations.setTopic")
            if c.args.get("channel") == channel
        ]
        assert topics and all(topic.startswith("#1 ") for topic in topics), topics
        listed = await say(bot, "list", BEA, BETA_GENERAL)
        assert set(re.findall(r"\*#(\d+)\* (\w+)", listed)) == {
            ("1", "Beta"),
            ("2", "Beta"),
            ("3", "Beta"),
        }, listed

        # `/incident status 1` in Beta acts on Beta's #1, and home's #1 is left as it was.
        answer = await say(bot, "status 1 resolved", BEA, BETA_GENERAL)
        assert "Incident #1" in answer and "Beta one" not in answer, answer
        statuses = {(team, number): status for team, number, _, status in await _numbers(bot)}
        assert statuses[(BETA, 1)] == "resolved"
        assert statuses[(TEAM_ID, 1)] == "investigating"
        # Its postmortem is named by its number too (its key is 2: home's #1 came first).
        await bot.settle()
        assert [f.name for f in bot.state.files.values()] == ["incident-1-postmortem.md"]
        # Home has no #3: Beta's count is not reachable from it.
        assert "There is no incident #3" in await say(bot, "status 3 resolved", ALICE, GENERAL)


async def test_racing_declarations_get_distinct_numbers(db_url: str) -> None:
    """Several declarations at once in each of two workspaces: none fails, and each workspace
    gets 1..N with no gap and no repeat."""
    engine = make_engine(db_url)
    sessions = make_sessionmaker(engine)

    async def declare(workspace: Workspace, index: int) -> int:
        with within(workspace):
            async with transaction(sessions) as session:
                incident = await service.declare(
                    session, OPTIONS, title=f"race {index}", reporter="U0ALICE"
                )
                return incident.number

    home, other = Workspace("T0HOME"), Workspace("T0OTHER")
    try:
        numbers = await asyncio.gather(
            *(declare(home, i) for i in range(RACERS)),
            *(declare(other, i) for i in range(RACERS)),
        )
        async with sessions() as session:
            stored = (await session.execute(select(Incident.team_id, Incident.number))).all()
    finally:
        await engine.dispose()
    expected = list(range(1, RACERS + 1))
    assert sorted(numbers[:RACERS]) == expected and sorted(numbers[RACERS:]) == expected
    by_team = {team: sorted(n for t, n in stored if t == team) for team, _ in stored}
    assert by_team == {"T0HOME": expected, "T0OTHER": expected}


async def test_racing_slash_commands_are_all_answered_with_their_own_number(db_url: str) -> None:
    """The same race through the front door: every declaration is answered (no error), each
    with its own number."""
    async with running_bot(db_url) as bot:
        responses = await asyncio.gather(
            *(
                bot.slack.command("/incident", f"declare Race {i}", ALICE, GENERAL)
                for i in range(RACERS)
            )
        )
        await bot.settle()
        assert [r.status_code for r in responses] == [200] * RACERS
        said = [re.search(r"Incident #(\d+) declared", r.text) for r in responses]
        assert all(said), [r.text for r in responses]
        assert sorted(int(m.group(1)) for m in said if m) == list(range(1, RACERS + 1))
