"""The breakage rules, straight on the service, on SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.ci import service
from bot.ci.models import CiBreakage, CiPipeline, CiRun
from bot.ci.service import upkeep
from bot.ci.service.events import GREEN, IGNORED, RED, RunEvent
from bot.core.db import transaction
from bot.core.projector import Projection
from tests.ci.conftest import ROUTE, T0, later, run_event

NOW = later(24 * 60)
Sessions = async_sessionmaker[AsyncSession]


async def feed(sessions: Sessions, *events: RunEvent, now: dt.datetime = NOW) -> list[str]:
    effects = []
    for event in events:
        async with transaction(sessions) as session:
            effects.append((await service.record_run(session, event, ROUTE, now=now)).effect)
    return effects


async def breakages(sessions: Sessions) -> list[CiBreakage]:
    async with sessions() as session:
        return list(await session.scalars(select(CiBreakage).order_by(CiBreakage.id)))


async def pipeline(sessions: Sessions, workflow: str = "test") -> CiPipeline:
    async with sessions() as session:
        row = await session.scalar(select(CiPipeline).where(CiPipeline.workflow == workflow))
        assert row is not None
        return row


async def test_red_red_green_opens_attaches_and_fixes(sessions: Sessions) -> None:
    effects = await feed(
        sessions,
        run_event(GREEN, "a0", 1, 0),
        run_event(RED, "a1", 2, 10),
        run_event(RED, "a2", 3, 20),
        run_event(GREEN, "a3", 4, 30, done_minute=45),
    )
    assert effects == ["green", "opened", "attached", "fixed"]
    [breakage] = await breakages(sessions)
    assert breakage.status == "fixed"
    assert breakage.last_green_sha == "a0"
    assert breakage.opened_at == later(15)
    assert breakage.closed_at == later(45)
    assert breakage.channel == "C0CI"
    state = await pipeline(sessions)
    assert (state.state, state.open_breakage_id, state.state_since) == ("green", None, later(45))


async def test_same_run_twice_changes_nothing(sessions: Sessions) -> None:
    effects = await feed(sessions, run_event(RED, "a1", 2, 10), run_event(RED, "a1", 2, 10))
    assert effects == ["opened", "duplicate"]
    async with sessions() as session:
        assert len(list(await session.scalars(select(CiRun)))) == 1


async def test_late_failure_of_older_commit_does_not_reopen(sessions: Sessions) -> None:
    effects = await feed(
        sessions,
        run_event(RED, "a1", 2, 10),
        run_event(GREEN, "a3", 4, 30),
        run_event(RED, "a2", 3, 20),  # pushed before a3, reported after it
    )
    assert effects == ["opened", "fixed", "stale"]
    assert [b.status for b in await breakages(sessions)] == ["fixed"]
    assert (await pipeline(sessions)).state == "green"


async def test_late_failure_before_any_breakage_is_stale(sessions: Sessions) -> None:
    effects = await feed(sessions, run_event(GREEN, "b2", 2, 20), run_event(RED, "b1", 1, 10))
    assert effects == ["green", "stale"]
    assert await breakages(sessions) == []


async def test_late_success_of_older_commit_does_not_close(sessions: Sessions) -> None:
    effects = await feed(sessions, run_event(RED, "c2", 2, 20), run_event(GREEN, "c1", 1, 10))
    assert effects == ["opened", "stale"]
    assert [b.status for b in await breakages(sessions)] == ["open"]
    # ...but it is the newest green we know before the break.
    state = await pipeline(sessions)
    async with sessions() as session:
        green = await session.get(CiRun, state.last_green_run_id)
    assert green is not None and green.sha == "c1"


async def test_fail_then_pass_on_same_sha_is_a_flake(sessions: Sessions) -> None:
    effects = await feed(
        sessions,
        run_event(GREEN, "d0", 1, 0),
        run_event(RED, "d1", 2, 10),
        run_event(GREEN, "d1", 2, 10, attempt=2, done_minute=25),
    )
    assert effects == ["green", "opened", "flaky"]
    [breakage] = await breakages(sessions)
    assert breakage.status == "flaky"
    assert breakage.closed_at == later(25)
    async with sessions() as session:
        flaky = list(await session.scalars(select(CiRun).where(CiRun.flaky.is_(True))))
        assert [(run.sha, run.attempt) for run in flaky] == [("d1", 1)]
        assert await service.flakiest_workflows(session, T0, NOW) == [
            ("octo-org/octo-repo", "test", 1)
        ]
        assert await service.mean_time_to_recover(session, T0, NOW) is None


async def test_pass_reported_before_its_failed_attempt_is_still_a_flake(
    sessions: Sessions,
) -> None:
    effects = await feed(
        sessions,
        run_event(GREEN, "e1", 2, 10, attempt=2),
        run_event(RED, "e1", 2, 10, attempt=1),
    )
    assert effects == ["green", "flake"]
    assert await breakages(sessions) == []
    async with sessions() as session:
        assert len(await service.flakes_between(session, T0, NOW)) == 1


async def test_cancelled_runs_are_stored_but_change_nothing(sessions: Sessions) -> None:
    effects = await feed(sessions, run_event(GREEN, "f0", 1, 0), run_event(IGNORED, "f1", 2, 10))
    assert effects == ["green", "ignored"]
    assert (await pipeline(sessions)).state == "green"


async def test_workflows_of_one_branch_break_separately(sessions: Sessions) -> None:
    effects = await feed(
        sessions,
        run_event(RED, "g1", 1, 0, workflow="test"),
        run_event(RED, "g1", 2, 0, workflow="lint"),
        run_event(GREEN, "g2", 3, 30, workflow="lint", done_minute=60),
    )
    assert effects == ["opened", "opened", "fixed"]
    async with sessions() as session:
        red = await service.red_now(session)
        assert [(p.workflow, p.state) for p in red] == [("test", "red")]
        # test red 5 -> now(90), lint red 5 -> 60: the branch was red 85 minutes, not 140.
        minutes = await service.red_minutes_by_branch(session, T0, later(90), now=later(90))
        assert minutes == {("octo-org/octo-repo", "main"): 85.0}
        mttr = await service.mean_time_to_recover(session, T0, NOW)
        assert mttr == dt.timedelta(minutes=55)
        window = await service.breakages_between(session, later(61), later(90))
        assert [(b.workflow, b.status) for b in window] == [("test", "open")]


async def test_muted_breakage_gets_its_card_when_the_mute_ends(sessions: Sessions) -> None:
    async with transaction(sessions) as session:
        await upkeep.mute(session, "Octo-Org/octo-repo", "main", later(60), "U0ALICE")
    await feed(sessions, run_event(RED, "h1", 1, 0), now=later(10))
    [breakage] = await breakages(sessions)
    assert breakage.muted
    async with transaction(sessions) as session:
        assert await upkeep.sweep_open_breakages(session, [ROUTE], 4, now=later(30)) == 0
        statuses = await service.status(session, now=later(30))
        assert statuses[0].muted_until == later(60)
    async with transaction(sessions) as session:
        assert await upkeep.sweep_open_breakages(session, [ROUTE], 4, now=later(61)) == 1
    [breakage] = await breakages(sessions)
    assert not breakage.muted


async def test_owners_are_called_once_when_still_red(sessions: Sessions) -> None:
    await feed(sessions, run_event(RED, "i1", 1, 0), now=later(10))
    async with transaction(sessions) as session:
        assert await upkeep.sweep_open_breakages(session, [ROUTE], 1, now=later(30)) == 0
    async with transaction(sessions) as session:
        assert await upkeep.sweep_open_breakages(session, [ROUTE], 1, now=later(70)) == 1
    async with transaction(sessions) as session:
        assert await upkeep.sweep_open_breakages(session, [ROUTE], 1, now=later(200)) == 0
    [breakage] = await breakages(sessions)
    assert breakage.owners == ["U0CAROL"] and breakage.owners_notified_at == later(70)
    async with sessions() as session:
        rows = list(await session.scalars(select(Projection)))
    assert [row.kind for row in rows].count("ci.owners") == 1
    # The open card is re-rendered every half hour so "red for" stays current: at 70 and 200.
    [card] = [row for row in rows if row.kind == "ci.breakage"]
    assert card.version == 3


async def test_history_lists_newest_first_with_flake_marks(sessions: Sessions) -> None:
    await feed(
        sessions,
        run_event(RED, "j1", 1, 0),
        run_event(GREEN, "j1", 1, 0, attempt=2),
        run_event(RED, "j2", 2, 30),
        run_event(RED, "j3", 3, 40),
        run_event(GREEN, "j4", 4, 50),
    )
    async with sessions() as session:
        items = await service.history(session, "octo-org/OCTO-repo", "main")
    assert [(b.status, b.first_red_sha, b.fixed_sha, b.failed_runs) for b in items] == [
        ("fixed", "j2", "j4", 2),
        ("flaky", "j1", "j1", 1),
    ]
