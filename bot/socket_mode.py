"""Socket Mode: events arrive over Slack's WebSocket; webhooks still need the HTTP server.

The HTTP server comes up first: /livez, /readyz and /metrics must answer while Slack is still
being reached (a slow or unreachable Slack would otherwise look like a dead pod), and the
workers it starts can drain the backlog meanwhile.
"""

from __future__ import annotations

import asyncio
import logging

import uvicorn
from slack_bolt.adapter.socket_mode.async_handler import AsyncSocketModeHandler

from bot.app import build_runtime
from bot.config import Settings, reveal

log = logging.getLogger("opsbot.socket")


async def run_socket_mode(settings: Settings, host: str, port: int) -> None:
    rt = build_runtime(settings)
    assert rt.web is not None
    server = uvicorn.Server(
        uvicorn.Config(rt.web, host=host, port=port, log_level="warning", access_log=False)
    )
    serving = asyncio.create_task(server.serve())  # runs the lifespan, which starts the workers
    handler = AsyncSocketModeHandler(rt.bolt, reveal(settings.slack_app_token))
    connecting: asyncio.Task[None] | None = None
    try:
        while not server.started:
            if serving.done():  # e.g. the port is taken: say so rather than wait forever
                return serving.result()
            await asyncio.sleep(0.01)
        log.info("http server up on %s:%s; connecting to Slack over Socket Mode", host, port)
        connecting = asyncio.create_task(handler.connect_async())
        await asyncio.wait({serving, connecting}, return_when=asyncio.FIRST_COMPLETED)
        if connecting.done() and connecting.exception() is not None:
            server.should_exit = True  # Slack refused or is unreachable: stop, let it restart
            await serving
            connecting.result()
        await serving
    finally:
        if connecting is not None and not connecting.done():
            connecting.cancel()
            await asyncio.gather(connecting, return_exceptions=True)
        if not serving.done():
            server.should_exit = True
            await asyncio.gather(serving, return_exceptions=True)
        await handler.close_async()
