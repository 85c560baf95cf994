from __future__ import annotations

import json
from collections.abc import AsyncIterator, Callable
from typing import Any
from urllib.parse import parse_qsl

import httpx
import pytest
from slack_sdk.web.async_client import AsyncWebClient
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from bot.sandbox import Sandbox, SandboxState, SlackDriver, create_app, verify


@pytest.fixture
async def sandbox() -> AsyncIterator[Sandbox]:
    async with Sandbox() as running:
        yield running


@pytest.fixture
def state(sandbox: Sandbox) -> SandboxState:
    return sandbox.state


@pytest.fixture
def client(sandbox: Sandbox) -> AsyncWebClient:
    return AsyncWebClient(token="xoxb-test", base_url=sandbox.url)


@pytest.fixture
async def asgi() -> AsyncIterator[tuple[SandboxState, httpx.AsyncClient]]:
    """The same app in-process, for raw HTTP checks that need no socket."""
    state = SandboxState()
    transport = httpx.ASGITransport(app=create_app(state))
    async with httpx.AsyncClient(transport=transport, base_url="http://sandbox") as http:
        yield state, http


class Receiver:
    """A stand-in bot endpoint that verifies Slack signatures and records requests."""

    def __init__(self, secret: str) -> None:
        self.secret = secret
        self.requests: list[Captured] = []
        self.rejected = 0
        self.reply: Callable[[Captured], Response] = lambda captured: Response(status_code=200)
        self.app = Starlette(routes=[Route("/slack/events", self._endpoint, methods=["POST"])])

    async def _endpoint(self, request: Request) -> Response:
        body = await request.body()
        timestamp = request.headers.get("x-slack-request-timestamp")
        if not verify(self.secret, timestamp, body, request.headers.get("x-slack-signature")):
            self.rejected += 1
            return Response(status_code=401)
        captured = Captured(dict(request.headers), body)
        self.requests.append(captured)
        return self.reply(captured)


class Captured:
    def __init__(self, headers: dict[str, str], body: bytes) -> None:
        self.headers = headers
        self.body = body

    def form(self) -> list[tuple[str, str]]:
        return parse_qsl(self.body.decode(), keep_blank_values=True)

    def json(self) -> Any:
        if self.headers.get("content-type", "").startswith("application/json"):
            return json.loads(self.body)
        return json.loads(dict(self.form())["payload"])


SECRET = "test-signing-secret"


@pytest.fixture
def receiver() -> Receiver:
    return Receiver(SECRET)


@pytest.fixture
async def driver(sandbox: Sandbox, receiver: Receiver) -> AsyncIterator[SlackDriver]:
    transport = httpx.ASGITransport(app=receiver.app)
    async with httpx.AsyncClient(transport=transport, base_url="http://bot") as http:
        yield SlackDriver("http://bot/slack/events", SECRET, sandbox.state, sandbox.base, http)
