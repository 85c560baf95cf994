"""HTTP routes: /slack/events, /healthz, /metrics, plus the routers features add.

Every route sits behind the front door (`bot.core.frontdoor`): body caps, no compressed
bodies, a JSON depth limit, and a 4xx with a JSON reason for anything malformed.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any, Protocol
from urllib.parse import parse_qsl

from fastapi import APIRouter, FastAPI, Request, Response
from fastapi.responses import JSONResponse
from prometheus_client import CONTENT_TYPE_LATEST
from slack_bolt.adapter.fastapi.async_handler import AsyncSlackRequestHandler
from slack_bolt.app.async_app import AsyncApp
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from bot.config import Settings
from bot.core.frontdoor import (
    MB,
    BadRequest,
    FrontDoor,
    body_cap,
    caps_of,
    loads_object,
)
from bot.core.metrics import Metrics
from bot.core.signatures import SignatureError, verify_slack_signature


class Runtime(Protocol):
    """What the web app needs of the process (`bot.app.Runtime` is one): no import of it."""

    settings: Settings
    bolt: AsyncApp
    metrics: Metrics
    sessions: async_sessionmaker[AsyncSession]
    routers: list[APIRouter]

    async def start(self) -> None: ...

    async def stop(self) -> None: ...

    def workers_running(self) -> bool: ...


log = logging.getLogger(__name__)

# Slack documents no maximum for request bodies. Its largest are view submissions (at most
# 100 blocks, inputs of at most 3,000 characters) and message events (40,000 characters of
# text, 50 blocks): a few hundred KB at worst, so 1 MB leaves room and refuses the rest.
SLACK_MAX_BODY = 1 * MB


class MetricsMiddleware:
    """Counts and times every request (pure ASGI: no extra task per request)."""

    def __init__(self, app: ASGIApp, rt: Runtime) -> None:
        self.app = app
        self.rt = rt

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = {"code": 500}

        async def send_wrapper(message: Message) -> None:
            if message["type"] == "http.response.start":
                status["code"] = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_wrapper)
        finally:
            # The route's template, never the raw path: unknown paths must not each become a series.
            matched = scope.get("route")
            route = getattr(matched, "path", None) or "unmatched"
            self.rt.metrics.requests.labels(route, str(status["code"])).inc()
            self.rt.metrics.latency.labels(route).observe(time.perf_counter() - started)


def create_web_app(rt: Runtime, *, run_workers: bool = True) -> FastAPI:
    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        if run_workers:
            await rt.start()
        yield
        await rt.stop()

    api = FastAPI(title="opsbot", lifespan=lifespan, docs_url=None, redoc_url=None)
    add_slack_route(api, rt)

    @api.get("/livez")
    async def livez() -> Response:
        # Answering at all proves the event loop turns; nothing else belongs in liveness, or a
        # database outage would restart every pod.
        return JSONResponse({"ok": True})

    @api.get("/readyz")
    @api.get("/healthz")
    async def readyz() -> Response:
        database = "ok"
        try:
            async with rt.sessions() as session:
                await session.execute(text("SELECT 1"))
        except Exception as error:  # the reason goes to the log: the answer names no host
            log.warning("readiness: database does not answer: %r", error)
            database = "unreachable"
        workers = "running" if rt.workers_running() else "stopped"
        ready = database == "ok" and (workers == "running" or not run_workers)
        body = {"ok": ready, "database": database, "workers": workers}
        return JSONResponse(body, status_code=200 if ready else 503)

    @api.get("/metrics")
    async def metrics() -> Response:
        return Response(rt.metrics.render(), media_type=CONTENT_TYPE_LATEST)

    for router in rt.routers:
        api.include_router(router)
    add_parse_error_handlers(api)
    # Added last so it sees every route's declared cap; metrics wrap it to count refusals too.
    api.add_middleware(FrontDoor, caps=caps_of(api.routes))
    api.add_middleware(MetricsMiddleware, rt=rt)
    return api


def refusal(status: int, reason: str) -> JSONResponse:
    return JSONResponse({"ok": False, "error": reason}, status_code=status)


def add_slack_route(api: FastAPI, rt: Runtime) -> None:
    """`POST /slack/events`, served only when requests to it can be verified.

    Without a signing secret (Socket Mode, where Slack traffic comes over the app-token
    websocket) the route answers 503 and never reaches Bolt, so nothing unsigned is obeyed.
    """
    secret = rt.settings.slack_signing_secret
    cap = body_cap(SLACK_MAX_BODY)
    if not secret:

        @api.post("/slack/events", openapi_extra=cap)
        async def slack_events_not_served() -> Response:
            reason = "Slack requests are not served over HTTP: SLACK_SIGNING_SECRET is not set"
            return refusal(503, reason)

        return

    slack_handler = AsyncSlackRequestHandler(rt.bolt)

    @api.post("/slack/events", openapi_extra=cap)
    async def slack_events(request: Request) -> Response:
        body = await request.body()  # Starlette keeps it for Bolt's own read
        headers = request.headers
        try:
            # Bolt verifies too; checking first means nothing unsigned is even parsed.
            verify_slack_signature(
                secret,
                headers.get("x-slack-request-timestamp"),
                body,
                headers.get("x-slack-signature"),
            )
        except SignatureError as error:
            return refusal(401, f"invalid signature: {error.reason}")
        check_slack_body(body, headers.get("content-type"))
        try:
            response = await slack_handler.handle(request)
        except (ValueError, TypeError, KeyError, AttributeError, IndexError) as error:
            # Bolt catches listener and middleware failures itself; what escapes is its
            # reading of a payload whose fields have the wrong shape.
            log.warning("malformed Slack payload: %r", error)
            return refusal(400, "malformed Slack payload")
        return json_refusal(response)


def json_refusal(response: Response) -> Response:
    """Bolt's own refusals (unhandled request, a listener's 400) as `{"ok": false, "error"}`."""
    if not 400 <= response.status_code < 500:
        return response
    text = bytes(response.body).decode("utf-8", "replace")
    try:
        reason = json.loads(text).get("error")
    except (ValueError, AttributeError):
        reason = None
    return refusal(response.status_code, str(reason or text or "refused")[:300])


def check_slack_body(body: bytes, content_type: str | None) -> None:
    """Refuse what Bolt's own parser would choke on: the same rules, as a 400 with a reason.

    Bolt reads a JSON body (events) or a form, whose `payload` field is JSON (interactivity)
    and which is otherwise flat (slash commands); each must come out as an object.
    """
    if not body:
        raise BadRequest(400, "empty body")
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        raise BadRequest(400, "body is not UTF-8") from None
    media_type = (content_type or "").split(";")[0].strip().lower()
    parsed: dict[str, Any] = {}
    if media_type == "application/json" or text.startswith("{"):
        parsed = loads_object(body)
    elif "payload" in text:
        payload = dict(parse_qsl(text, keep_blank_values=True)).get("payload")
        if payload is not None:
            parsed = loads_object(payload)
    else:
        parsed = dict(parse_qsl(text, keep_blank_values=True))
    # Bolt's own middleware reads an event's fields before any listener runs.
    if "event" in parsed and not isinstance(parsed["event"], dict):
        raise BadRequest(400, "`event` is not an object")


def add_parse_error_handlers(api: FastAPI) -> None:
    """Malformed input is the caller's error: a 400 with a reason, never a 500."""

    async def bad_request(_request: Request, error: Exception) -> Response:
        if isinstance(error, BadRequest):
            return refusal(error.status, error.reason)
        if isinstance(error, RecursionError):
            return refusal(400, "input nested too deeply")
        if isinstance(error, UnicodeDecodeError):
            return refusal(400, "body is not UTF-8")
        return refusal(400, f"malformed input: {str(error)[:120]}")

    for kind in (BadRequest, json.JSONDecodeError, UnicodeDecodeError, RecursionError):
        api.add_exception_handler(kind, bad_request)
