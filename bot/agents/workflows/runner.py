"""Drives agent tasks: one background drive per task, held by a lease on its row.

Drives run outside the shared task runner so minutes-long agent work never starves other
features of task slots. A durable `agents.drive` task hands a row to whichever replica runs it;
that replica leases the row and renews the lease while the drive lives. If the replica dies, the
lease lapses and the recovery sweep hands the row out again: the new drive reads the backend's
task id from the row and picks the task up (A2A: get_task, then re-subscribe).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from sqlalchemy import update

from bot.agents import models as m
from bot.agents import service
from bot.agents.backends.base import Backend, BackendRejected, BackendUnavailable, Job, Update
from bot.agents.models import AgentTask
from bot.agents.service import jobs
from bot.agents.settings import SECTION as AGENTS
from bot.core.db import transaction
from bot.core.leases import renew_leases, try_lease

if TYPE_CHECKING:
    from bot.feature import FeatureContext

log = logging.getLogger(__name__)
RESTING = frozenset({m.INPUT_REQUIRED, *m.TERMINAL})


class StopDrive(Exception):
    """The task was canceled or finished elsewhere while this drive ran."""


class RuntimeStopped(Exception):
    """This replica is shutting down: its drives stop without writing anything more."""


class AgentRunner:
    def __init__(self, rt: FeatureContext, poll_seconds: float = 0.25) -> None:
        self.rt = rt
        self.owner = rt.replica_id
        self.poll_seconds = poll_seconds
        self.drives: dict[int, asyncio.Task[None]] = {}
        self._loops: list[asyncio.Task[None]] = []

    @property
    def lease_seconds(self) -> float:
        return float(self.rt.tasks.lease_seconds)

    def ensure_started(self) -> None:
        if not self._loops:
            self._loops = [asyncio.create_task(self._renew_loop(), name="agents-renew")]

    async def stop(self) -> None:
        """Called by the runtime as it stops: drives end here; their leases lapse for others."""
        for work in [*self.drives.values(), *self._loops]:
            work.cancel()
        await asyncio.gather(*self.drives.values(), *self._loops, return_exceptions=True)
        self._loops = []

    async def _renew_loop(self) -> None:
        while True:
            await asyncio.sleep(self.lease_seconds / 3)
            if not self.drives:
                continue
            try:
                async with transaction(self.rt.sessions) as session:
                    await renew_leases(
                        session, AgentTask, list(self.drives), self.owner, self.lease_seconds
                    )
            except Exception:
                log.exception("agents: lease renewal failed")

    # -- hand-over -----------------------------------------------------------------------

    async def on_drive(self, payload: dict[str, Any]) -> None:
        """Durable task: take the row's lease and start driving it in the background."""
        self.ensure_started()
        task_id = int(payload["task_id"])
        if task_id in self.drives:
            return
        async with transaction(self.rt.sessions) as session:
            if not await try_lease(session, AgentTask, task_id, self.owner, self.lease_seconds):
                return
            task = await service.begin_drive(session, task_id)
            if task is None or task.state not in m.DRIVABLE:
                await _release(session, task_id, self.owner)
                return
        self.drives[task_id] = asyncio.create_task(self._drive(task_id), name=f"agent-{task_id}")

    async def recover(self) -> None:
        """Scheduled sweep: started tasks nobody drives (their replica died) get a new drive."""
        async with transaction(self.rt.sessions) as session:
            for task_id, generation in await service.drivable_ids(session):
                if task_id not in self.drives:
                    await service.enqueue_drive(session, task_id, generation, "recover")

    # -- one drive -----------------------------------------------------------------------

    async def _drive(self, task_id: int) -> None:
        timeout = self.rt.settings.section(AGENTS).attempt_timeout_minutes * 60
        try:
            await asyncio.wait_for(self._attempts(task_id), timeout)
        except RuntimeStopped:
            return  # like a crash: the lease lapses and another replica takes over
        except TimeoutError:
            await self._give_up(task_id, f"the task did not finish within {timeout / 60:g} minutes")
            await self._cancel_quietly(task_id)
        except asyncio.CancelledError:
            raise
        except Exception as error:  # a bug must still end in a message, never in silence
            log.exception("agents: drive of task %s failed", task_id)
            await self._give_up(task_id, f"opsbot could not run the task: {error!r}"[:500])
        finally:
            self.drives.pop(task_id, None)
        async with transaction(self.rt.sessions) as session:
            await _release(session, task_id, self.owner)
            task = await session.get(AgentTask, task_id)
            if task is not None and task.state in m.DRIVABLE:
                # Work arrived while this drive was ending (an answer, a push): hand it on.
                await service.enqueue_drive(session, task_id, task.drives, "handover")

    async def _attempts(self, task_id: int) -> None:
        settings = self.rt.settings.section(AGENTS)
        while True:
            self._alive()
            loaded = await jobs.load_job(self.rt, task_id)
            if loaded is None or loaded.state not in m.DRIVABLE:
                return
            backend = jobs.backend_for(self.rt, loaded.backend)
            if backend is None:
                await self._give_up(task_id, f"the backend `{loaded.backend}` is not configured")
                return
            try:
                # Back to the top afterwards: a task that rests ends the drive there, and an
                # answer that came in meanwhile is delivered at once.
                await self._watched(task_id, backend, loaded.job)
            except StopDrive:
                await self._stop_backend(task_id, backend, loaded.job)
                return
            except BackendRejected as error:
                await self._give_up(task_id, f"the agent backend `{backend.name}` refused: {error}")
                return
            except BackendUnavailable as error:
                self._alive()  # a replica going down sees its connections fail: not the agent
                async with transaction(self.rt.sessions) as session:
                    count = await service.note_backend_error(session, task_id, str(error))
                if count >= settings.retries:
                    await self._give_up(
                        task_id,
                        f"the agent backend `{backend.name}` could not be reached after "
                        f"{count} tries ({error})",
                    )
                    return
                await asyncio.sleep(settings.retry_seconds * 2 ** (count - 1))

    async def _watched(self, task_id: int, backend: Backend, job: Job) -> None:
        """Run the backend while watching the row: a cancel or a finish elsewhere stops it."""
        work = asyncio.create_task(backend.drive(job, self._emitter(task_id)))
        try:
            while not work.done():
                await asyncio.wait({work}, timeout=self.poll_seconds)
                if not work.done() and await self._should_stop(task_id):
                    work.cancel()
                    with contextlib.suppress(asyncio.CancelledError):
                        await work
                    raise StopDrive
            work.result()
        finally:
            if not work.done():
                work.cancel()
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await work
        state = await jobs.task_state(self.rt, task_id)
        if state not in RESTING:
            raise BackendUnavailable("the backend stopped reporting before the task finished")

    def _alive(self) -> None:
        if not self.rt.started:
            raise RuntimeStopped

    def _emitter(self, task_id: int) -> Any:
        async def emit(change: Update) -> None:
            self._alive()
            async with transaction(self.rt.sessions) as session:
                await service.apply_update(session, task_id, change)

        return emit

    async def _should_stop(self, task_id: int) -> bool:
        state = await jobs.task_state(self.rt, task_id)
        return state is None or state in m.TERMINAL or state == m.CANCELING

    async def _stop_backend(self, task_id: int, backend: Backend, job: Job) -> None:
        """Canceled before the backend's task id was known: cancel the task it created."""
        loaded = await jobs.load_job(self.rt, task_id)
        if (
            loaded
            and loaded.state == m.CANCELED
            and loaded.job.backend_task_id
            and (not job.backend_task_id)
        ):
            with contextlib.suppress(Exception):
                await backend.cancel(replace(job, backend_task_id=loaded.job.backend_task_id))

    async def _give_up(self, task_id: int, reason: str) -> None:
        async with transaction(self.rt.sessions) as session:
            await service.fail(session, task_id, reason[:1].upper() + reason[1:])

    async def _cancel_quietly(self, task_id: int) -> None:
        loaded = await jobs.load_job(self.rt, task_id)
        backend = jobs.backend_for(self.rt, loaded.backend) if loaded else None
        if loaded and backend:
            with contextlib.suppress(Exception):
                await backend.cancel(loaded.job)

    # -- cancel --------------------------------------------------------------------------

    async def on_cancel(self, payload: dict[str, Any]) -> None:
        """Durable task: tell the backend to stop, then record the task as canceled."""
        task_id = int(payload["task_id"])
        loaded = await jobs.load_job(self.rt, task_id)
        if loaded is None or loaded.state != m.CANCELING:
            return
        backend = jobs.backend_for(self.rt, loaded.backend)
        settings = self.rt.settings.section(AGENTS)
        for attempt in range(1, settings.retries + 1):
            try:
                if backend is not None:
                    await backend.cancel(loaded.job)
                break
            except BackendRejected:
                log.warning("agents: backend refused to cancel task %s", task_id)
                break
            except BackendUnavailable:
                if attempt < settings.retries:
                    await asyncio.sleep(settings.retry_seconds * 2 ** (attempt - 1))
        async with transaction(self.rt.sessions) as session:
            await service.finish_cancel(session, task_id)


async def _release(session: Any, task_id: int, owner: str) -> None:
    await session.execute(
        update(AgentTask)
        .where(AgentTask.id == task_id, AgentTask.lease_owner == owner)
        .values(lease_owner=None, lease_expires=None)
    )
