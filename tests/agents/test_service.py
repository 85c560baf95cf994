"""The rules on their own: lifecycle, permissions, and the queries digests and Home use."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.agents import models as m
from bot.agents import service
from bot.agents.backends.base import Outcome, Update
from bot.agents.models import AgentTask
from bot.agents.service import queries
from bot.agents.service.parsing import Spec
from bot.core.db import transaction, utcnow
from bot.core.projector import Projection
from bot.core.tasks import Task

Sessions = async_sessionmaker[AsyncSession]
SPEC = Spec("fix the login test", "octo-org/octo-repo", "codex", 2, None)


async def _request(sessions: Sessions, spec: Spec = SPEC, requester: str = "U0BOB") -> int:
    async with transaction(sessions) as session:
        request = await service.create_request(
            session,
            spec,
            channel="C0DEV",
            thread_ts="1.0",
            message_ts="1.1",
            requester=requester,
            source="mention",
        )
        return request.id


async def _apply(sessions: Sessions, task_id: int, update: Update) -> AgentTask | None:
    async with transaction(sessions) as session:
        return await service.apply_update(session, task_id, update)


async def _dirty(sessions: Sessions, kind: str) -> list[str]:
    async with sessions() as session:
        rows = await session.scalars(select(Projection.record_id).where(Projection.kind == kind))
        return sorted(rows)


async def test_a_request_makes_one_task_per_attempt(sessions: Sessions) -> None:
    request_id = await _request(sessions)
    async with sessions() as session:
        found = await service.request_tasks(session, request_id)
        prepared = list(await session.scalars(select(Task.kind)))
    assert [(t.attempt, t.state, t.branch) for t in found] == [
        (1, m.QUEUED, f"opsbot/agent-{request_id}-1"),
        (2, m.QUEUED, f"opsbot/agent-{request_id}-2"),
    ]
    assert found[0].push_token and found[0].push_token != found[1].push_token
    assert prepared == [service.TASK_PREPARE]
    assert await _dirty(sessions, service.CARD) == [str(t.id) for t in found]

    # Queued tasks belong to the preparation step; a started one whose runner died is found.
    async with sessions() as session:
        assert await service.drivable_ids(session) == []
    async with transaction(sessions) as session:
        started = await service.begin_drive(session, found[0].id)
        assert started and (started.state, started.drives) == (m.SUBMITTED, 1)
        started.lease_owner, started.lease_expires = "gone", utcnow() - dt.timedelta(seconds=1)
    async with sessions() as session:
        assert await service.drivable_ids(session) == [(found[0].id, 1)]


async def test_lifecycle_question_answer_finish_and_compare(sessions: Sessions) -> None:
    request_id = await _request(sessions)
    async with sessions() as session:
        first, second = await service.request_tasks(session, request_id)
    await _apply(sessions, first.id, Update(state=m.WORKING, step="Reading", backend_task_id="b1"))
    await _apply(sessions, first.id, Update(state=m.INPUT_REQUIRED, question="Which file?"))
    await _apply(sessions, first.id, Update(state=m.INPUT_REQUIRED, question="Which file?"))
    assert await _dirty(sessions, service.QUESTION) == [f"{first.id}.1"]  # asked once
    async with transaction(sessions) as session:
        answered = await service.record_answer(session, first.id, "src/login.py")
        assert answered and answered.pending_input == "src/login.py"
        assert await service.record_answer(session, second.id, "nobody asked") is None
    await _apply(sessions, first.id, Update(state=m.WORKING, input_delivered=True))
    outcome = Outcome(summary="done", branch="b", files_changed=1, lines_added=2, lines_removed=0)
    done = await _apply(sessions, first.id, Update(state=m.COMPLETED, outcome=outcome))
    assert done and done.pending_input is None and done.finished_at is not None
    assert await _dirty(sessions, service.COMPARISON) == []  # attempt 2 still runs
    # A finished task never changes again, whatever arrives late.
    late = await _apply(sessions, first.id, Update(state=m.FAILED, error="late"))
    assert late and late.state == m.COMPLETED and late.error is None
    await _apply(sessions, second.id, Update(state=m.FAILED, error="tests failed"))
    assert await _dirty(sessions, service.COMPARISON) == [str(request_id)]
    assert await _dirty(sessions, service.RESULT) == []  # the comparison is the result


async def test_cancel_belongs_to_the_requester_and_admins(sessions: Sessions) -> None:
    request_id = await _request(sessions, Spec("x", "o/r", "codex", 1, None))
    async with sessions() as session:
        [task] = await service.request_tasks(session, request_id)
    with pytest.raises(service.AgentError, match="Only <@U0BOB>"):
        async with transaction(sessions) as session:
            await service.request_cancel(session, task.id, "U0DAVE", ["U0ERIN"])
    async with transaction(sessions) as session:
        canceling = await service.request_cancel(session, task.id, "U0ERIN", ["U0ERIN"])
        assert canceling.state == m.CANCELING and canceling.canceled_by == "U0ERIN"
    # Progress while canceling is kept, but does not undo the cancel.
    still = await _apply(sessions, task.id, Update(state=m.WORKING, step="busy"))
    assert still and still.state == m.CANCELING
    async with transaction(sessions) as session:
        await service.finish_cancel(session, task.id)
    with pytest.raises(service.AgentError, match="already canceled"):
        async with transaction(sessions) as session:
            await service.request_cancel(session, task.id, "U0BOB", [])


async def test_queries_for_digests_and_home(sessions: Sessions) -> None:
    since = utcnow() - dt.timedelta(hours=1)
    first = await _request(sessions, Spec("one", "o/r", "codex", 1, None))
    second = await _request(sessions, Spec("two", "o/r", "codex", 2, None), requester="U0ALICE")
    async with sessions() as session:
        [a] = await service.request_tasks(session, first)
        b, c = await service.request_tasks(session, second)
    pr = Outcome(pr_url="https://github.com/o/r/pull/1", files_changed=1)
    await _apply(sessions, a.id, Update(state=m.COMPLETED, outcome=pr))
    await _apply(sessions, b.id, Update(state=m.FAILED, error="boom"))
    await _apply(sessions, c.id, Update(state=m.WORKING))
    async with sessions() as session:
        counts = await queries.count_by_state(session)
        assert (counts[m.COMPLETED], counts[m.FAILED], counts[m.WORKING], counts[m.QUEUED]) == (
            1,
            1,
            1,
            0,
        )
        [opened] = await queries.prs_opened(session, since)
        assert opened.pr_url == "https://github.com/o/r/pull/1" and opened.requester == "U0BOB"
        [failed] = await queries.failures(session, since)
        assert failed.error == "boom" and failed.attempt == 1 and failed.attempts == 2
        assert await queries.failures(session, utcnow() + dt.timedelta(minutes=1)) == []
        alice = await queries.tasks_for_user(session, "U0ALICE")
        assert [t.task_id for t in alice] == [c.id, b.id]
        assert [t.task_id for t in await queries.active(session)] == [c.id]
        assert len(await queries.recent_in_channel(session, "C0DEV")) == 3


async def test_attempts_finishing_together_still_get_their_comparison(sessions: Sessions) -> None:
    import asyncio

    request_id = await _request(sessions, Spec("x", "o/r", "codex", 4, None))
    async with sessions() as session:
        found = await service.request_tasks(session, request_id)
    await asyncio.gather(*(_apply(sessions, t.id, Update(state=m.COMPLETED)) for t in found))
    assert await _dirty(sessions, service.COMPARISON) == [str(request_id)]
