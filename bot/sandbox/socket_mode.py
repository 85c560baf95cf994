"""Socket Mode as Slack runs it: apps.connections.open hands out a WebSocket URL; envelopes
go down the socket and the app acknowledges each by envelope_id (with a payload for commands
and interactions, which Slack shows as the response)."""

from __future__ import annotations

import asyncio
import json
import uuid
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.websockets import WebSocket, WebSocketDisconnect

from .events import envelope
from .payloads import slash_command_form

APP_TOKEN_PREFIX = "xapp-"


class SocketModeHub:
    def __init__(self) -> None:
        self.sockets: list[WebSocket] = []
        self.connected = asyncio.Event()
        self._pending: dict[str, asyncio.Future[dict[str, Any]]] = {}
        self.tickets: set[str] = set()

    async def open(self, request: Request) -> JSONResponse:
        """apps.connections.open: needs an app-level token, answers with a one-off URL."""
        header = request.headers.get("authorization", "")
        token = header.removeprefix("Bearer ").strip()
        if not token:
            form = await request.form()
            token = str(form.get("token") or "")
        if not token.startswith(APP_TOKEN_PREFIX):
            return JSONResponse({"ok": False, "error": "invalid_auth"})
        ticket = uuid.uuid4().hex
        self.tickets.add(ticket)
        host = request.url.netloc
        return JSONResponse({"ok": True, "url": f"ws://{host}/socket-mode/{ticket}"})

    async def serve(self, socket: WebSocket) -> None:
        if socket.path_params["ticket"] not in self.tickets:
            await socket.close(code=4001)
            return
        await socket.accept()
        await socket.send_json(
            {"type": "hello", "num_connections": 1, "connection_info": {"app_id": "A0OPSBOT"}}
        )
        self.sockets.append(socket)
        self.connected.set()
        try:
            while True:
                ack = json.loads(await socket.receive_text())
                future = self._pending.pop(str(ack.get("envelope_id")), None)
                if future and not future.done():
                    future.set_result(ack.get("payload") or {})
        except WebSocketDisconnect:
            pass
        finally:
            self.sockets.remove(socket)
            if not self.sockets:
                self.connected.clear()

    async def send(
        self, kind: str, payload: dict[str, Any], timeout: float = 3.0
    ) -> dict[str, Any]:
        """Deliver one envelope and wait for its acknowledgement, as Slack does (3 s)."""
        await asyncio.wait_for(self.connected.wait(), timeout)
        envelope_id = str(uuid.uuid4())
        future: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
        self._pending[envelope_id] = future
        await self.sockets[-1].send_json(
            {
                "envelope_id": envelope_id,
                "type": kind,
                "payload": payload,
                "accepts_response_payload": kind != "events_api",
                "retry_attempt": 0,
                "retry_reason": "",
            }
        )
        return await asyncio.wait_for(future, timeout)


async def command_over_socket(
    hub: SocketModeHub, state: Any, command: str, text: str, user: str, channel: str
) -> dict[str, Any]:
    form = slash_command_form(
        state,
        command=command,
        text=text,
        user=user,
        channel=channel,
        response_url=f"http://sandbox.invalid/hooks/{uuid.uuid4().hex}",
        trigger_id="1.2.3",
    )
    return await hub.send("slash_commands", dict(form))


async def event_over_socket(
    hub: SocketModeHub, state: Any, event: dict[str, Any]
) -> dict[str, Any]:
    event_id = f"Ev{uuid.uuid4().hex[:10].upper()}"
    body = envelope(state, event, event_id, int(asyncio.get_running_loop().time()))
    return await hub.send("events_api", body)
