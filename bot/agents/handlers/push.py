"""`POST /agents/push`: A2A push notifications, each checked against its task's own token.

The route reads and verifies the push; what it does to the task is `service.push.apply_push`.
"""

from __future__ import annotations

import logging
import secrets
from typing import TYPE_CHECKING, Any

from a2a.types import StreamResponse
from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from google.protobuf.json_format import ParseDict, ParseError
from sqlalchemy import select

from bot.agents.models import AgentTask
from bot.agents.service.push import apply_push
from bot.core.db import transaction
from bot.core.frontdoor import KB, BadRequest, body_cap, loads_object
from bot.core.redaction import redact_payload
from bot.core.signatures import SignatureError, verify_bearer_token

if TYPE_CHECKING:
    from bot.feature import FeatureContext

log = logging.getLogger(__name__)
TOKEN_HEADER = "X-A2A-Notification-Token"
# A push only needs to name its task and state (artifacts are fetched with get_task), and the
# body is parsed before its token can be checked (redacted only after), so the front door
# keeps it small.
MAX_BODY = 256 * KB


def _error(status: int, message: str) -> JSONResponse:
    return JSONResponse({"ok": False, "error": message}, status_code=status)


def parse_event(body: bytes) -> tuple[StreamResponse, dict[str, Any]]:
    """The event, and the JSON object it was read from (redacted once the push is verified)."""
    try:
        data = loads_object(body)
    except BadRequest as error:
        raise ValueError(error.reason) from None
    event = StreamResponse()
    ParseDict(data, event, ignore_unknown_fields=True)  # parses into `event`
    return event, data


def redacted_event(event: StreamResponse, data: dict[str, Any]) -> StreamResponse:
    """What an agent reports is stored and posted: it is redacted before either."""
    clean = redact_payload(data)
    if clean is data:
        return event
    redacted = StreamResponse()
    ParseDict(clean, redacted, ignore_unknown_fields=True)
    return redacted


def task_id_of(event: StreamResponse) -> str | None:
    kind = event.WhichOneof("payload")
    if kind == "task":
        return event.task.id or None
    if kind == "status_update":
        return event.status_update.task_id or None
    if kind == "artifact_update":
        return event.artifact_update.task_id or None
    return None


def push_router(rt: FeatureContext) -> APIRouter:
    router = APIRouter()

    @router.post("/agents/push", openapi_extra=body_cap(MAX_BODY))
    async def agents_push(request: Request) -> JSONResponse:
        body = await request.body()  # capped by the front door
        try:
            event, data = parse_event(body)
        except (ValueError, ParseError) as problem:
            return _error(400, f"not an A2A stream event: {str(problem)[:200]}")
        backend_task_id = task_id_of(event)
        if backend_task_id is None:
            return _error(400, "the event names no task")
        header = request.headers.get(TOKEN_HEADER) or request.headers.get("Authorization")
        async with transaction(rt.sessions) as session:
            task = await session.scalar(
                select(AgentTask).where(AgentTask.backend_task_id == backend_task_id)
            )
            # Unknown task and wrong token get the same answer: no probing for task ids.
            expected = task.push_token if task and task.push_token else secrets.token_hex(16)
            try:
                verify_bearer_token(expected, header)
            except SignatureError as failure:
                return _error(401, f"bad push token ({failure.reason})")
            assert task is not None
            # Only a verified push is worth the redactor's time.
            effect = await apply_push(session, task, redacted_event(event, data))
        return JSONResponse({"ok": True, "effect": effect}, status_code=202)

    return router
