"""What an agent's A2A push notification does to its task (the route is `handlers.push`)."""

from __future__ import annotations

from a2a.types import StreamResponse

from bot.agents import models as m
from bot.agents import service
from bot.agents.backends.a2a_events import RESTING, Tracker
from bot.agents.backends.base import Update
from bot.agents.models import AgentTask


async def apply_push(session: object, task: AgentTask, event: StreamResponse) -> str:
    """Progress is recorded at once; an end or a question wakes a drive to read the task."""
    if task.state in m.TERMINAL:
        return "ignored: task already finished"
    update = Tracker(task_id=task.backend_task_id).read(event)
    if update is None:
        return "ignored: nothing to record"
    if update.state in RESTING:
        # The full task (artifacts, final message) comes from get_task in the drive.
        if task.state in m.DRIVABLE:
            # A drive already running makes this a no-op; after a restart it starts one.
            await service.enqueue_drive(session, task.id, task.drives, "push")  # type: ignore[arg-type]
            return "drive scheduled"
        return "noted"
    await service.apply_update(session, task.id, Update(step=update.step))  # type: ignore[arg-type]
    return "progress recorded"
