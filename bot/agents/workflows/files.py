"""An attempt's whole change and the agent's transcript, posted as files in its thread.

The card shows the change's first lines; people who judge attempts want all of it, and what
the agent said while it worked. Both were redacted when they were kept. An upload that
happened before a crash is found in the thread by its name, not posted twice.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from bot.agents.models import AgentRequest, AgentTask
from bot.agents.service.loaders import thread_of

if TYPE_CHECKING:
    from bot.feature import FeatureContext


def names(task: AgentTask) -> tuple[str, str]:
    prefix = f"agent-{task.request_id}-attempt-{task.attempt}"
    return f"{prefix}.patch", f"{prefix}-transcript.txt"


class AttemptFiles:
    """The `agents.files` task."""

    def __init__(self, rt: FeatureContext) -> None:
        self.rt = rt

    async def __call__(self, payload: dict[str, Any]) -> None:
        async with self.rt.sessions() as session:
            task = await session.get(AgentTask, int(payload["task_id"]))
            request = await session.get(AgentRequest, task.request_id) if task else None
            if task is None or request is None:
                return
            thread = await thread_of(session, request)  # NotReady until the thread exists
        patch_name, transcript_name = names(task)
        posted = await self._in_thread(request.channel, thread)
        label = f"Attempt {task.attempt}" if request.attempts > 1 else "The agent's attempt"
        if task.patch and patch_name not in posted:
            await self._post(
                request.channel, thread, patch_name, task.patch, f"{label}: the change"
            )
        if task.transcript and transcript_name not in posted:
            title = f"{label}: what the agent printed (redacted)"
            await self._post(request.channel, thread, transcript_name, task.transcript, title)

    async def _in_thread(self, channel: str, thread: str) -> set[str]:
        replies = await self.rt.client.conversations_replies(channel=channel, ts=thread, limit=200)
        messages: list[dict[str, Any]] = replies.get("messages") or []
        return {str(f.get("name")) for m in messages for f in m.get("files") or []}

    async def _post(self, channel: str, thread: str, name: str, content: str, title: str) -> None:
        await self.rt.client.files_upload_v2(
            channel=channel, thread_ts=thread, content=content, filename=name, title=title
        )
