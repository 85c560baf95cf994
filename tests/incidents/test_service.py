"""The rules, against a real database (SQLite and PostgreSQL)."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select

from bot.core.commands import UsageError
from bot.core.db import transaction, utcnow
from bot.core.projector import Projection
from bot.core.tasks import Task
from bot.incidents import service
from bot.incidents.models import Incident
from bot.incidents.service import access, kinds
from tests.incidents.db import OPTS, Sessions, count, declare


async def test_declare_commits_incident_roles_tasks_and_views(sessions: Sessions) -> None:
    first = await declare(sessions, severity="SEV2")
    second = await declare(sessions, commander="U0BOB")
    assert second == first + 1
    async with sessions() as session:
        incident = await session.get(Incident, first)
        assert incident is not None
        assert (incident.severity, incident.status, incident.channel_id) == (
            "sev2",
            "investigating",
            None,
        )
        assert await access.holders(session, second) == {"commander": "U0BOB"}
        tasks = set(await session.scalars(select(Task.kind)))
        views = set(await session.scalars(select(Projection.kind)))
    assert kinds.TASK_OPEN_CHANNEL in tasks
    assert {kinds.ANNOUNCEMENT, kinds.CARD, kinds.ROLE_DM} <= views


async def test_bad_declare_writes_nothing(sessions: Sessions) -> None:
    for kwargs in ({"title": "   "}, {"severity": "sev9"}):
        with pytest.raises(UsageError):
            await declare(sessions, **kwargs)
    assert await count(sessions, Incident) == 0
    assert await count(sessions, Task) == 0


def test_channel_names() -> None:
    day = dt.datetime(2026, 3, 14, tzinfo=dt.UTC)
    assert (
        service.channel_name("inc", day, "Café: DB is DOWN!", 7, 1)
        == "inc-20260314-cafe-db-is-down"
    )
    assert service.channel_name("inc", day, "DB down", 7, 3) == "inc-20260314-db-down-3"
    assert service.channel_name("inc", day, "🔥🔥", 7, 1) == "inc-20260314-7"
    assert len(service.channel_name("inc", day, "x" * 200, 7, 12)) <= 80


async def test_rights(sessions: Sessions) -> None:
    number = await declare(sessions, commander="U0BOB")

    async def as_user(user: str, action: str) -> None:
        async with transaction(sessions) as session:
            incident = await session.get(Incident, number)
            assert incident is not None
            if action == "resolve":
                await service.resolve(session, OPTS, incident, user, "done")
            else:
                await service.assign_role(session, OPTS, incident, "commander", user, user)

    with pytest.raises(service.IncidentError, match="Only the commander"):
        await as_user("U0DAVE", "resolve")
    with pytest.raises(service.IncidentError, match="is commander"):
        await as_user("U0DAVE", "take")
    async with transaction(sessions) as session:
        incident = await session.get(Incident, number)
        assert incident is not None
        # A free role can be taken by anyone.
        assert await service.assign_role(session, OPTS, incident, "Scribe", "U0DAVE", "U0DAVE")
    await as_user("U0ADMIN", "take")
    await as_user("U0ADMIN", "resolve")
    with pytest.raises(service.IncidentError, match="already resolved"):
        await as_user("U0ADMIN", "resolve")


async def test_functions_for_other_features(sessions: Sessions) -> None:
    start = utcnow() - dt.timedelta(minutes=1)
    one = await declare(sessions, commander="U0BOB")
    two = await declare(sessions, title="other")
    async with transaction(sessions) as session:
        incident = await session.get(Incident, one)
        assert incident is not None
        await service.set_status(session, OPTS, incident, "mitigated", "U0BOB")
        await service.resolve(session, OPTS, incident, "U0BOB", "fixed")
    end = utcnow() + dt.timedelta(minutes=1)
    async with sessions() as session:
        assert [i.id for i in await service.open_incidents(session)] == [two]
        assert [i.id for i in await service.opened_between(session, start, end)] == [one, two]
        assert [i.id for i in await service.resolved_between(session, start, end)] == [one]
        assert await service.resolved_between(session, end, end + dt.timedelta(hours=1)) == []
        mean = await service.mean_time_to_resolve(session, start, end)
        assert mean is not None and dt.timedelta(0) <= mean < dt.timedelta(minutes=1)
        assert await service.mean_time_to_resolve(session, end, end) is None
        mine = await service.open_incidents_for(session, "U0ALICE")
        assert [(s.id, roles) for s, roles in mine] == [(two, ("commander",))]
        assert await service.open_incidents_for(session, "U0BOB") == []
        resolved = await session.get(Incident, one)
        assert resolved is not None and resolved.mitigated_at is not None
