"""HTTP routes: /slack/events, /livez, /readyz, /metrics, plus the routers features add, and in
OAuth mode /slack/install and /slack/oauth_redirect.

Every route sits behind the front door (`bot.core.frontdoor`): body caps, no compressed
bodies, a JSON depth limit, and a 4xx with a JSON reason for anything malformed. Every request
is counted by route template, logged with its request id, and traced when tracing is on.
/metrics moves to a port of its own when OPSBOT_METRICS_PORT is set.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any, Protocol
from urllib.parse import parse_qsl

from aiohttp import web
from fastapi import APIRouter, FastAPI, Request, Response
from fastapi.responses import HTMLResponse, JSONResponse
from prometheus_client import CONTENT_TYPE_LATEST
from slack_bolt.adapter.fastapi.async_handler import AsyncSlackRequestHandler
from slack_bolt.app.async_app import AsyncApp
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from bot.config import Settings, reveal
from bot.core import logs, tracing, workspaces
from bot.core.frontdoor import (
    MB,
    BadRequest,
    FrontDoor,
    body_cap,
    caps_of,
    loads_object,
)
from bot.core.known_workspaces import KnownWorkspaces
from bot.core.metrics import Metrics
from bot.core.signatures import SignatureError, verify_slack_signature


class Runtime(Protocol):
    """What the web app needs of the process (`bot.app.Runtime` is one): no import of it."""

    settings: Settings
    bolt: AsyncApp
    metrics: Metrics
    engine: AsyncEngine
    sessions: async_sessionmaker[AsyncSession]
    routers: list[APIRouter]
    known: KnownWorkspaces | None

    async def start(self) -> None: ...

    async def stop(self) -> None: ...

    def workers_running(self) -> bool: ...


log = logging.getLogger(__name__)

# Slack documents no maximum for request bodies. Its largest are view submissions (at most
# 100 blocks, inputs of at most 3,000 characters) and message events (40,000 characters of
# text, 50 blocks): a few hundred KB at worst, so 1 MB leaves room and refuses the rest.
SLACK_MAX_BODY = 1 * MB
# Asked every few seconds by probes and scrapers: logged at debug level only.
QUIET_ROUTES = frozenset({"/livez", "/readyz", "/healthz", "/metrics"})


class MetricsMiddleware:
    """Counts, times and logs every request, under its request id (the caller's X-Request-Id,
    else a new one, returned in the answer's X-Request-Id). Pure ASGI: no extra task."""

    def __init__(self, app: ASGIApp, rt: Runtime) -> None:
        self.app = app
        self.rt = rt

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = {"code": 500}
        request_id = logs.request_id_from(_header(scope, b"x-request-id"))

        async def send_wrapper(message: Message) -> None:
            if message["type"] == "http.response.start":
                status["code"] = message["status"]
                headers = [*message.get("headers", ()), (b"x-request-id", request_id.encode())]
                message = {**message, "headers": headers}
            await send(message)

        with logs.request_scope(request_id):
            try:
                await self.app(scope, receive, send_wrapper)
            finally:
                # The route's template, never the raw path: unknown paths must not each become
                # a series.
                matched = scope.get("route")
                route = getattr(matched, "path", None) or "unmatched"
                elapsed = time.perf_counter() - started
                self.rt.metrics.requests.labels(route, str(status["code"])).inc()
                self.rt.metrics.latency.labels(route).observe(elapsed)
                log.log(
                    logging.DEBUG if route in QUIET_ROUTES else logging.INFO,
                    "%s %s %s",
                    scope["method"],
                    route,
                    status["code"],
                    extra={
                        "method": scope["method"],
                        "route": route,
                        "status": status["code"],
                        "duration_ms": round(elapsed * 1000, 1),
                    },
                )


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope["headers"]:
        if key == name:
            return bytes(value).decode("latin-1")
    return None


def create_web_app(rt: Runtime, *, run_workers: bool = True) -> FastAPI:
    metrics_port = rt.settings.opsbot_metrics_port

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        logs.adopt_uvicorn()
        scraper = await serve_metrics(rt.metrics, metrics_port) if metrics_port else None
        if run_workers:
            await rt.start()
        yield
        await rt.stop()
        if scraper is not None:
            await scraper.cleanup()

    rt.metrics.watch_store(rt.sessions)
    api = FastAPI(title="opsbot", lifespan=lifespan, docs_url=None, redoc_url=None)
    add_slack_route(api, rt)
    add_install_routes(api, rt)

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

    if not metrics_port:  # otherwise only the metrics port answers it, off the public one

        @api.get("/metrics")
        async def metrics() -> Response:
            return Response(await rt.metrics.scrape(), media_type=CONTENT_TYPE_LATEST)

    for router in rt.routers:
        api.include_router(router)
    add_parse_error_handlers(api)
    # Added last so it sees every route's declared cap; metrics wrap it to count refusals too.
    api.add_middleware(FrontDoor, caps=caps_of(api.routes))
    api.add_middleware(MetricsMiddleware, rt=rt)
    # Installed here rather than by the command, so that each process of `serve --workers N`
    # traces too; a no-op without OTEL_EXPORTER_OTLP_ENDPOINT.
    tracing.install(_release())
    tracing.instrument(api, rt.engine)
    return api


async def serve_metrics(metrics: Metrics, port: int) -> web.AppRunner:
    """GET /metrics on `port`, every interface, in this process's event loop: what the
    scrape reads from the database is read with the app's own engine."""

    async def scrape(_request: web.Request) -> web.Response:
        return web.Response(
            body=await metrics.scrape(), headers={"Content-Type": CONTENT_TYPE_LATEST}
        )

    app = web.Application()
    app.router.add_get("/metrics", scrape)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, port=port).start()
    log.info("metrics on port %d", port, extra={"metrics_port": port})
    return runner


def _release() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("opsbot")
    except PackageNotFoundError:
        return "unknown"


def refusal(status: int, reason: str) -> JSONResponse:
    return JSONResponse({"ok": False, "error": reason}, status_code=status)


def add_slack_route(api: FastAPI, rt: Runtime) -> None:
    """`POST /slack/events`, served only when requests to it can be verified.

    Without a signing secret (Socket Mode, where Slack traffic comes over the app-token
    websocket) the route answers 503 and never reaches Bolt, so nothing unsigned is obeyed.
    """
    secret = reveal(rt.settings.slack_signing_secret)
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
        parsed = check_slack_body(body, headers.get("content-type"))
        logs.bind_slack(parsed)
        try:
            # Its listeners, and all they store and enqueue, are within its workspace.
            workspace = workspaces.of_body(parsed)
            if rt.known is not None:
                await rt.known.note(workspace, workspaces.channel_of(parsed))
            with workspaces.within(workspace):
                response = await slack_handler.handle(request)
        except (ValueError, TypeError, KeyError, AttributeError, IndexError) as error:
            # Bolt catches listener and middleware failures itself; what escapes is its
            # reading of a payload whose fields have the wrong shape.
            log.warning("malformed Slack payload: %r", error)
            return refusal(400, "malformed Slack payload")
        return json_refusal(response)


def add_install_routes(api: FastAPI, rt: Runtime) -> None:
    """OAuth mode: `GET /slack/install` (the "Add to Slack" page) and `GET /slack/oauth_redirect`
    (where Slack sends the installer back), both run by Bolt's OAuth flow."""
    flow = rt.bolt.oauth_flow
    if flow is None:
        return
    slack_handler = AsyncSlackRequestHandler(rt.bolt)

    async def oauth_page(request: Request) -> Response:
        if await request.body():  # a browser's GET has none; Bolt would try to read it
            return refusal(400, "a GET request carries no body")
        try:
            return await slack_handler.handle(request)
        except SQLAlchemyError:
            raise  # a 503 from the app's handler: nothing was stored
        except Exception as error:  # Slack unreachable while exchanging the code
            log.warning("OAuth step failed: %r", error)
            return HTMLResponse(
                "<!doctype html><title>opsbot</title><h1>opsbot was not installed</h1>"
                "<p>Slack could not be reached to finish the installation. "
                f'<a href="{flow.install_path}">Start again</a> in a minute.</p>',
                status_code=503,
            )

    api.add_api_route(flow.install_path, oauth_page, methods=["GET"])
    api.add_api_route(flow.redirect_uri_path, oauth_page, methods=["GET"])


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


def check_slack_body(body: bytes, content_type: str | None) -> dict[str, Any]:
    """Refuse what Bolt's own parser would choke on: the same rules, as a 400 with a reason.
    What it parsed is returned (the ids the request's log lines carry are read from it).

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
    return parsed


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

    async def unavailable(_request: Request, error: Exception) -> Response:
        # Nothing was stored (the transaction rolled back): the sender delivers again. The
        # answer names no host or statement; the log has the error.
        log.warning("a request could not be stored: %r", error)
        return refusal(503, "the database is unavailable; deliver again")

    # Every route, whoever writes it: a database failure is a 503 the sender retries, not a 500.
    api.add_exception_handler(SQLAlchemyError, unavailable)
