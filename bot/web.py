"""HTTP routes: /slack/events, /healthz, /metrics, plus the routers features add."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING

from fastapi import FastAPI, Request, Response
from fastapi.responses import JSONResponse
from prometheus_client import CONTENT_TYPE_LATEST
from slack_bolt.adapter.fastapi.async_handler import AsyncSlackRequestHandler
from sqlalchemy import text
from starlette.types import ASGIApp, Message, Receive, Scope, Send

if TYPE_CHECKING:
    from bot.app import Runtime


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
            route = scope.get("path", "")
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
    api.add_middleware(MetricsMiddleware, rt=rt)
    slack_handler = AsyncSlackRequestHandler(rt.bolt)

    @api.post("/slack/events")
    async def slack_events(request: Request) -> Response:
        return await slack_handler.handle(request)

    @api.get("/healthz")
    async def healthz() -> Response:
        try:
            async with rt.sessions() as session:
                await session.execute(text("SELECT 1"))
        except Exception as error:
            return JSONResponse({"ok": False, "database": repr(error)[:200]}, status_code=503)
        return JSONResponse({"ok": True, "database": "ok"})

    @api.get("/metrics")
    async def metrics() -> Response:
        return Response(rt.metrics.render(), media_type=CONTENT_TYPE_LATEST)

    for router in rt.routers:
        api.include_router(router)
    return api


def app_from_environment() -> FastAPI:
    """The web app of one worker process of `opsbot serve --workers N`."""
    from bot.app import build_runtime
    from bot.config import load_settings

    web = build_runtime(load_settings()).web
    assert web is not None
    return web
