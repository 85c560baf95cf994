"""Digest sections read other features through their services (both database backends)."""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator

import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.agents import models as agent_models
from bot.agents import service as agents
from bot.agents.backends.base import Outcome, Update
from bot.agents.service.parsing import Spec
from bot.codered import service as codered
from bot.codered.service.options import Options as CodeRedOptions
from bot.config import Settings
from bot.core.db import make_engine, make_sessionmaker, transaction, utcnow
from bot.digests.service.sections import Scope, compose
from tests.directory import FixedDirectory, fixed_policy

ALICE = "U0ALICE"


@pytest.fixture
async def sessions(db_url: str) -> AsyncIterator[async_sessionmaker[AsyncSession]]:
    engine = make_engine(db_url)
    yield make_sessionmaker(engine)
    await engine.dispose()


async def finished_task(session: AsyncSession, instruction: str, change: Update) -> None:
    spec = Spec(instruction, "octo-org/octo-repo", "default", 1, None)
    request = await agents.create_request(
        session, spec, channel="C0DEV", thread_ts="1.1", message_ts="1.1", requester=ALICE,
        source="mention",
    )  # fmt: skip
    [task] = await agents.request_tasks(session, request.id)
    await agents.apply_update(session, task.id, change)


async def test_agents_and_code_red_sections(sessions: async_sessionmaker[AsyncSession]) -> None:
    start = utcnow() - dt.timedelta(hours=1)
    async with transaction(sessions) as session:
        done = Outcome(summary="ok", pr_url="https://gh.test/pr/9")
        await finished_task(
            session, "Add retries", Update(state=agent_models.COMPLETED, outcome=done)
        )
        await finished_task(
            session, "Rewrite it all", Update(state=agent_models.FAILED, error="no")
        )
        await finished_task(session, "Still going", Update(state=agent_models.WORKING))
        opts = CodeRedOptions.from_settings(Settings(admins=[ALICE]))
        form = codered.DeclareForm(
            level="orange", focus="Latency", owner=ALICE, exit_criteria="p99"
        )
        await codered.declare(session, opts, form, ALICE)
    scope = Scope("C0ENG", start, utcnow() + dt.timedelta(seconds=1), "UTC", fixed_policy())
    snapshot = await compose(sessions, scope)
    agents_seen = snapshot["agents"]
    assert [t["pr_url"] for t in agents_seen["prs"]] == ["https://gh.test/pr/9"]
    assert [t["instruction"] for t in agents_seen["failures"]] == ["Rewrite it all"]
    assert agents_seen["active"] == 1
    level = snapshot["standups"]["codered"]
    assert (level["level"], level["title"], level["owner"]) == ("orange", "Latency", ALICE)
    assert "incidents" not in snapshot and "ci" not in snapshot and "activity" not in snapshot


async def test_an_empty_workspace_has_nothing_to_say(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    scope = Scope(
        "C0ENG", utcnow() - dt.timedelta(days=1), utcnow(), "Europe/Paris", fixed_policy()
    )
    assert await compose(sessions, scope) == {}


async def test_a_private_channels_tasks_stay_out_of_other_channels_digests(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    start = utcnow() - dt.timedelta(hours=1)
    async with transaction(sessions) as session:
        done = Outcome(summary="ok", pr_url="https://gh.test/pr/9")
        await finished_task(
            session, "Rotate the HR keys", Update(state=agent_models.COMPLETED, outcome=done)
        )
    end = utcnow() + dt.timedelta(seconds=1)
    private = fixed_policy(private={"C0DEV": {ALICE}})
    elsewhere = await compose(sessions, Scope("C0ENG", start, end, "UTC", private))
    assert "agents" not in elsewhere
    inside = await compose(sessions, Scope("C0DEV", start, end, "UTC", private))
    assert [t["instruction"] for t in inside["agents"]["prs"]] == ["Rotate the HR keys"]


async def test_a_digest_waits_when_slack_cannot_say_who_reads_a_channel(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    """Rather than store a snapshot with a channel's items silently left out, the build fails
    (its task is retried); a person's own lists still just hide what cannot be checked."""
    from bot.core.access import Audience, MembershipUnknown, Subject
    from bot.core.directory import ChannelFacts

    class Unanswered(FixedDirectory):
        async def facts(self, channel: str) -> ChannelFacts:
            return ChannelFacts(private=True, members=frozenset(), known=False)

    start = utcnow() - dt.timedelta(hours=1)
    async with transaction(sessions) as session:
        done = Outcome(summary="ok", pr_url="https://gh.test/pr/9")
        await finished_task(session, "Fix it", Update(state=agent_models.COMPLETED, outcome=done))
    policy = fixed_policy()
    policy.directory = Unanswered()
    end = utcnow() + dt.timedelta(seconds=1)
    with pytest.raises(MembershipUnknown):
        await compose(sessions, Scope("C0ENG", start, end, "UTC", policy))
    assert "agents" in await compose(sessions, Scope("C0DEV", start, end, "UTC", policy))
    subject = Subject(agents.AGENT_REQUEST, "1", "this agent task", "C0DEV")
    assert not await policy.may_see(Audience.person("U0BOB"), subject)
