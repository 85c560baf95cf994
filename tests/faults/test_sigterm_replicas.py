"""SIGTERM to one replica mid-task: it gives the task back, and another replica finishes it at once.

Two `opsbot serve` processes, A and B, share one migrated PostgreSQL, with the default 30 s lease
and task sweep and a 1 s shutdown grace. A takes an incident's "open the channel" task, and the
sandbox holds its `conversations.create` call (a `slow` fault). A is sent SIGTERM while the call
hangs: it must exit cleanly after the grace, logging each step, and give the task's lease back,
so that B finishes the work within a second or two of A's exit instead of when the lease lapses
30 s later. The call A abandoned then lands late in Slack: the channel still exists only once.

B is frozen (SIGSTOP) while A takes the task, so that A, not B, is the one holding it; it is
thawed before A is stopped.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import signal
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.core.db import make_engine, make_sessionmaker
from bot.core.tasks import Task
from bot.incidents.models import Incident
from bot.incidents.service.kinds import TASK_OPEN_CHANNEL
from bot.migrate import upgrade
from bot.sandbox import seed
from bot.sandbox.driver import SlackDriver
from bot.sandbox.faults import SLOW
from bot.sandbox.server import Sandbox
from tests.faults.process import SIGNING_SECRET, BotProcess, wait_until_settled

pytestmark = pytest.mark.postgres

GRACE = 1.0
# Far longer than the test: only SIGTERM (then the sandbox's wake-up at the end) ends the call.
HOLD_SECONDS = 60.0
# What A's stop must log, in this order (bot/app.py Runtime.stop, bot/core/worker.py).
STOP_STEPS = (
    rf"stopping: {GRACE:g}s for running work",
    # Other tasks of the declaration (invites, the topic) may still be running beside the held
    # one: how many depends on the machine's speed, so any number is accepted.
    r"tasks: waiting up to [\d.]+s for \d+ running",
    r"tasks: gave back \d+ unfinished: \[[\d, ]+\]",
    r"stopping: tasks stopped",
    r"stopping: card syncs stopped",
)
CONFIG: dict[str, Any] = {"admins": [seed.ALICE], "incidents": {"announce_channel": seed.INCIDENTS}}


class Replica(BotProcess):
    """`opsbot serve` with production timings (30 s lease, 2 s task sweep), but a 1 s grace."""

    def env(self) -> dict[str, str]:
        env = super().env()
        for shortened in (
            "TUNING__LEASE_SECONDS",
            "TUNING__TASK_SWEEP_SECONDS",
            "TUNING__PROJECTOR_SWEEP_SECONDS",
        ):
            env.pop(shortened)
        env["SHUTDOWN_GRACE_SECONDS"] = str(GRACE)
        return env

    @property
    def pid(self) -> int:
        assert self.child is not None
        return self.child.pid

    def exited(self) -> bool:
        return self.child is not None and self.child.poll() is not None


@contextlib.asynccontextmanager
async def database(url: str) -> AsyncIterator[async_sessionmaker[AsyncSession]]:
    engine = make_engine(url)
    try:
        yield make_sessionmaker(engine)
    finally:
        await engine.dispose()


async def open_channel_task(sessions: async_sessionmaker[AsyncSession]) -> Task | None:
    async with sessions() as session:
        return await session.scalar(select(Task).where(Task.kind == TASK_OPEN_CHANNEL))


def held_by(task: Task | None, replica: Replica) -> bool:
    # A lease owner is "host:pid:random" (bot/core/leases.py new_replica_id).
    return task is not None and (task.lease_owner or "").split(":")[1:2] == [str(replica.pid)]


async def until(condition: Any, timeout: float, what: str) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not await condition():
        if loop.time() > deadline:
            raise TimeoutError(what)
        await asyncio.sleep(0.02)


@pytest.mark.parametrize("empty_db_url", ["postgresql"], indirect=True)
async def test_sigterm_gives_the_running_task_to_the_other_replica(
    empty_db_url: str, tmp_path: Path
) -> None:
    db_url = empty_db_url
    upgrade(db_url)
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    async with Sandbox() as sandbox, database(db_url) as sessions:
        state = sandbox.state
        a = Replica(db_url, sandbox.url, CONFIG, tmp_path / "a")
        b = Replica(db_url, sandbox.url, CONFIG, tmp_path / "b")
        slack = SlackDriver(f"{a.base}/slack/events", SIGNING_SECRET, state, sandbox.base)
        frozen = False
        try:
            await asyncio.gather(a.start(), b.start())
            os.kill(b.pid, signal.SIGSTOP)
            frozen = True
            state.faults.fail_next("conversations.create", SLOW, seconds=HOLD_SECONDS)
            declared = await slack.command(
                "/incident", "declare Checkout is down sev1", user=seed.ALICE, channel=seed.GENERAL
            )
            assert declared.status_code == 200, declared.text

            async def a_is_in_the_call() -> bool:
                # The fault is taken as the call arrives; the call then sleeps in the sandbox.
                held = held_by(await open_channel_task(sessions), a)
                return held and state.faults.pending("conversations.create") == 0

            await until(a_is_in_the_call, 20, "A never took the task into its Slack call")
            os.kill(b.pid, signal.SIGCONT)
            frozen = False

            loop = asyncio.get_running_loop()
            stopped_at = loop.time()
            log_before = a.log.stat().st_size
            os.kill(a.pid, signal.SIGTERM)
            released_at = exited_at = done_at = None
            deadline = stopped_at + GRACE + 10
            while (exited_at is None or done_at is None) and loop.time() < deadline:
                task = await open_channel_task(sessions)
                now = loop.time()
                assert task is not None
                if released_at is None and not held_by(task, a):
                    released_at = now
                if done_at is None and task.status == "done":
                    done_at = now
                if exited_at is None and a.exited():
                    exited_at = now
                    assert not held_by(task, a), "A exited still holding the task"
                await asyncio.sleep(0.01)
            assert exited_at is not None, "A did not exit after SIGTERM"
            assert released_at is not None, "A never gave the task back"
            assert done_at is not None, "nobody finished the task A gave back"
            print(  # the measured timings, for `pytest -s`
                f"released {released_at - stopped_at:.2f}s after SIGTERM, "
                f"A exited {exited_at - stopped_at:.2f}s after it, "
                f"B finished {done_at - released_at:.2f}s after the release, "
                f"{done_at - exited_at:+.2f}s from A's exit"
            )
            # uvicorn ends a graceful shutdown by raising the signal it caught again, so the
            # exit status is "terminated by SIGTERM" (143 in a shell or a container), not 0.
            assert a.child is not None
            assert a.child.returncode in (0, -signal.SIGTERM), a.log.read_text()[-3000:]
            assert exited_at - stopped_at < GRACE + 3
            assert released_at - stopped_at < GRACE + 2, "the lease was left to lapse"
            assert done_at - exited_at < 2.0
            stop_log = a.log.read_bytes()[log_before:].decode(errors="replace")
            found = [re.search(step, stop_log) for step in STOP_STEPS]
            assert all(found), f"missing stop steps {STOP_STEPS}:\n{stop_log}"
            positions = [match.start() for match in found if match]
            assert positions == sorted(positions), stop_log
            assert "Traceback" not in stop_log, stop_log

            # The call A abandoned reaches Slack late; it must not make a second channel.
            state.faults.wake_sleepers()

            async def abandoned_call_landed() -> bool:
                return any(c.fault == SLOW for c in state.calls)

            await until(abandoned_call_landed, 10, "the held call never finished in the sandbox")
            await wait_until_settled(db_url, timeout=20)
        finally:
            if frozen:
                os.kill(b.pid, signal.SIGCONT)
            await asyncio.to_thread(a.stop)
            await asyncio.to_thread(b.stop)

        creates = [c for c in state.calls if c.method == "conversations.create"]
        assert [c.ok for c in creates if c.fault is None] == [True], creates
        # A's abandoned call came last and found the name taken by B's channel.
        assert [c.response.get("error") for c in creates if c.fault == SLOW] == ["name_taken"]
        channels = [c for c in state.channels.values() if c.name.startswith("inc-")]
        assert len(channels) == 1, [c.name for c in channels]
        async with sessions() as session:
            incident = await session.scalar(select(Incident))
        assert incident is not None and incident.channel_id == channels[0].id
        announcements = [m for m in state.messages(seed.INCIDENTS) if m.user == state.bot_user_id]
        assert len(announcements) == 1
        pinned = [m for m in state.messages(channels[0].id) if m.user == state.bot_user_id]
        assert len([m for m in pinned if m.pinned]) == 1
