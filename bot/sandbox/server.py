"""HTTP front of the sandbox: Web API, response_url hooks and file upload URLs."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
import socket
from collections.abc import Iterator
from types import TracebackType
from typing import Any
from urllib.parse import parse_qsl

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, RedirectResponse, Response
from starlette.routing import Route, WebSocketRoute

from .dispatch import Outcome, call_api, guarded
from .hooks import apply_hook_post
from .methods_files import receive_upload
from .oauth import authorize
from .socket_mode import SocketModeHub
from .state import SandboxState
from .transcript import render_workspace


def _state(request: Request) -> SandboxState:
    state: SandboxState = request.app.state.sandbox_state
    return state


def _respond(outcome: Outcome) -> Response:
    if outcome.text is not None:
        return PlainTextResponse(outcome.text, outcome.status, headers=outcome.headers)
    return JSONResponse(outcome.body, outcome.status, headers=outcome.headers)


async def _body_args(request: Request) -> dict[str, Any]:
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    raw = await request.body()
    if not raw:
        return {}
    if content_type == "application/json":
        try:
            decoded = json.loads(raw)
        except json.JSONDecodeError:
            return {}
        return decoded if isinstance(decoded, dict) else {}
    if content_type == "multipart/form-data":
        form = await request.form()
        return {k: v for k, v in form.items() if isinstance(v, str)}
    return dict(parse_qsl(raw.decode("utf-8", "replace"), keep_blank_values=True))


def _bearer(request: Request) -> str | None:
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    return token.strip() if scheme.lower() == "bearer" and token.strip() else None


def _basic(request: Request) -> dict[str, str]:
    """HTTP Basic credentials (how slack_sdk sends oauth.v2.access's client id and secret)."""
    scheme, _, encoded = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "basic":
        return {}
    try:
        client_id, _, client_secret = base64.b64decode(encoded).decode().partition(":")
    except (ValueError, UnicodeDecodeError):
        return {}
    return {"client_id": client_id, "client_secret": client_secret}


def _base(request: Request) -> str:
    return str(request.base_url).rstrip("/")


async def api_endpoint(request: Request) -> Response:
    raw: dict[str, Any] = dict(request.query_params)
    raw.update(await _body_args(request))
    for key, value in _basic(request).items():
        raw.setdefault(key, value)
    token = _bearer(request) or raw.get("token")
    method = request.path_params["method"]
    return _respond(await call_api(_state(request), method, raw, token, _base(request)))


async def authorize_endpoint(request: Request) -> Response:
    """slack.com/oauth/v2/authorize: approves at once and redirects back, or shows the error."""
    status, where = authorize(_state(request), dict(request.query_params))
    if status == 302:
        return RedirectResponse(where, status_code=302)
    return PlainTextResponse(f"Slack could not install this app: {where}", status)


async def hook_endpoint(request: Request) -> Response:
    state = _state(request)
    body = await _body_args(request)
    if isinstance(body.get("payload"), str):
        # Some clients post `payload=<json>` forms to response_url
        with contextlib.suppress(json.JSONDecodeError):
            body = json.loads(body["payload"])
    hook_id = request.path_params["hook_id"]
    outcome = await guarded(
        state,
        "response_url",
        {"hook_id": hook_id, **body},
        lambda: apply_hook_post(state, hook_id, body),
        rate_key=None,
    )
    return _respond(outcome)


async def upload_endpoint(request: Request) -> Response:
    state = _state(request)
    file_id = request.path_params["file_id"]
    content = await _upload_bytes(request)

    def effect() -> Outcome:
        stored = receive_upload(state, file_id, content)
        if stored is None:
            return Outcome(404, {}, text="not_found")
        return Outcome(200, {}, text=f"OK - {len(content)}")

    recorded = {"file_id": file_id, "bytes": len(content)}
    return _respond(await guarded(state, "upload", recorded, effect, rate_key=None))


async def _upload_bytes(request: Request) -> bytes:
    content_type = request.headers.get("content-type", "").lower()
    if not content_type.startswith("multipart/form-data"):
        return await request.body()
    form = await request.form()
    for value in form.values():
        if not isinstance(value, str):
            return await value.read()
    return b""


async def transcript_endpoint(request: Request) -> Response:
    return PlainTextResponse(render_workspace(_state(request)))


def create_app(state: SandboxState, hub: SocketModeHub | None = None) -> Starlette:
    hub = hub or SocketModeHub()
    app = Starlette(
        routes=[
            # Socket Mode's own method takes an app-level token, unlike every other method here.
            Route("/api/apps.connections.open", hub.open, methods=["POST"]),
            WebSocketRoute("/socket-mode/{ticket}", hub.serve),
            Route("/api/{method}", api_endpoint, methods=["GET", "POST"]),
            Route("/oauth/v2/authorize", authorize_endpoint, methods=["GET"]),
            Route("/hooks/{hook_id:path}", hook_endpoint, methods=["POST"]),
            Route("/upload/{file_id}", upload_endpoint, methods=["POST"]),
            Route("/sandbox/transcript", transcript_endpoint, methods=["GET"]),
        ]
    )
    app.state.sandbox_state = state
    return app


class _EmbeddedServer(uvicorn.Server):
    """uvicorn without signal handling: the host process owns Ctrl-C, not the sandbox."""

    def __init__(self, config: uvicorn.Config) -> None:
        super().__init__(config)
        self.exit_requested = asyncio.Event()

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield

    async def main_loop(self) -> None:
        # Same ticks as uvicorn, but stop() wakes it at once; suites start many sandboxes
        counter = 0
        while not await self.on_tick(counter):
            counter = (counter + 1) % 864000
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.exit_requested.wait(), 0.1)

    async def shutdown(self, sockets: list[socket.socket] | None = None) -> None:
        # uvicorn's graceful path waits >=100 ms for idle keep-alives; a fake Slack
        # owes its clients nothing, so close everything and cancel in-flight work
        for server in self.servers:
            server.close()
        for connection in list(self.server_state.connections):
            connection.shutdown()
        for task in list(self.server_state.tasks):
            task.cancel()
        await asyncio.sleep(0)


class Sandbox:
    """The sandbox served over real HTTP from the current event loop."""

    def __init__(self, state: SandboxState | None = None) -> None:
        self.state = state or SandboxState()
        self.socket_mode = SocketModeHub()
        self.app = create_app(self.state, self.socket_mode)
        self._server: _EmbeddedServer | None = None
        self._task: asyncio.Task[None] | None = None
        self.host = "127.0.0.1"
        self.port = 0

    @property
    def base(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def url(self) -> str:
        return f"{self.base}/api/"

    def reset(self, state: SandboxState | None = None) -> SandboxState:
        """Swap in a fresh workspace without restarting the server."""
        self.state.faults.wake_sleepers()
        self.state = state or SandboxState()
        self.app.state.sandbox_state = self.state
        return self.state

    async def start(self, host: str = "127.0.0.1", port: int = 0) -> Sandbox:
        config = uvicorn.Config(
            self.app,
            host=host,
            port=port,
            log_level="warning",
            access_log=False,
            lifespan="off",
            timeout_graceful_shutdown=1,
        )
        self._server = _EmbeddedServer(config)
        self._task = asyncio.create_task(self._server.serve())
        while not self._server.started:
            if self._task.done():
                self._task.result()
                raise RuntimeError("sandbox server exited during startup")
            await asyncio.sleep(0.005)
        self.host = host
        self.port = self._server.servers[0].sockets[0].getsockname()[1]
        return self

    async def stop(self) -> None:
        if self._server is None or self._task is None:
            return
        self.state.faults.wake_sleepers()
        self._server.should_exit = True
        self._server.exit_requested.set()
        # Connections parked in a fault sleep must not hold up shutdown
        self._server.force_exit = True
        with contextlib.suppress(asyncio.CancelledError):
            await asyncio.wait_for(self._task, timeout=5)
        self._server = None
        self._task = None

    async def __aenter__(self) -> Sandbox:
        return await self.start()

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.stop()
