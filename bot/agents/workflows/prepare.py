"""Durable step between a request and its attempts: read the thread, build what is sent."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
from typing import TYPE_CHECKING, Any

from slack_sdk.errors import SlackApiError

from bot.agents import service
from bot.agents.models import AgentRequest
from bot.agents.service.context import ThreadMessage, build_context
from bot.agents.service.loaders import thread_of
from bot.agents.settings import SECTION as AGENTS
from bot.agents.workflows.slack_reads import Access, read_thread, resolve_names
from bot.core.db import transaction
from bot.core.projector import NotReady

if TYPE_CHECKING:
    from bot.feature import FeatureContext

log = logging.getLogger(__name__)
# Errors no retry will fix: say so in the thread instead of trying for ever.
PERMANENT = {"not_in_channel", "channel_not_found", "thread_not_found", "missing_scope"}
_MENTION = re.compile(r"<@([UW][A-Z0-9]+)")
PARENT_WAITS = 30


def context_id_for(channel: str, thread_ts: str) -> str:
    """The A2A context of a Slack thread: every task started in it shares it."""
    return f"slack:{channel}:{thread_ts}"


class Preparer:
    def __init__(self, rt: FeatureContext, access: Access) -> None:
        self.rt = rt
        self.access = access

    async def __call__(self, payload: dict[str, Any]) -> None:
        request_id = int(payload["request_id"])
        found = await self._request_and_thread(request_id)
        if found is None:
            return
        request, thread_ts = found
        try:
            messages = await self._thread(request, thread_ts)
        except SlackApiError as error:
            await self._unreadable(request, str(error.response.get("error") or "unknown"))
            return
        await self._store(request, thread_ts, messages)

    async def _request_and_thread(self, request_id: int) -> tuple[AgentRequest, str] | None:
        """The request and its thread; a `/agent run` thread exists once its parent is posted."""
        for _ in range(PARENT_WAITS):
            async with self.rt.sessions() as session:
                request = await session.get(AgentRequest, request_id)
                if request is None:
                    return None
                with contextlib.suppress(NotReady):
                    return request, await thread_of(session, request)
            await asyncio.sleep(0.1)
        # Still not posted: raise NotReady so the durable task is retried later.
        async with self.rt.sessions() as session:
            request = await session.get(AgentRequest, request_id)
            if request is None:
                return None
            return request, await thread_of(session, request)

    async def _thread(self, request: AgentRequest, thread_ts: str) -> list[ThreadMessage]:
        if request.sent_payload is not None or request.source == "command":
            return []
        return await read_thread(self.rt.client, request.channel, thread_ts)

    async def _unreadable(self, request: AgentRequest, code: str) -> None:
        async with transaction(self.rt.sessions) as session:
            row = await session.get(AgentRequest, request.id, with_for_update=True)
            if row is None:
                return
            row.prepare_errors += 1
            if code in PERMANENT or row.prepare_errors >= self.rt.settings.section(AGENTS).retries:
                await service.fail_request(
                    session, request.id, f"opsbot could not read the thread ({code})"
                )
                return
        raise RuntimeError(f"conversations.replies failed: {code}")

    async def _store(
        self, request: AgentRequest, thread_ts: str, messages: list[ThreadMessage]
    ) -> None:
        agents = self.rt.settings.section(AGENTS)
        payload, meta = request.sent_payload, request.sent_meta or {}
        if payload is None:
            people = {m.user for m in messages if m.user} | {request.requester}
            people |= {found for m in messages for found in _MENTION.findall(m.text)}
            names = await resolve_names(self.rt.client, people)
            sent = build_context(
                messages,
                instruction=request.instruction,
                requester=request.requester,
                instructing=await self.access.instructing(request.requester),
                names=names,
                repo=request.repo,
                base_branch=request.base_branch,
                max_messages=agents.max_messages,
                max_chars=agents.max_chars,
                skip_ts=request.message_ts if request.source == "mention" else None,
            )
            payload, meta = sent.payload, sent.meta()
        async with transaction(self.rt.sessions) as session:
            await service.store_context(
                session,
                request.id,
                thread_ts=thread_ts,
                context_id=request.context_id or context_id_for(request.channel, thread_ts),
                payload=payload,
                meta=meta,
            )
