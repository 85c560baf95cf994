"""Socket Mode: events arrive over Slack's WebSocket; webhooks still need the HTTP server."""

from __future__ import annotations

import uvicorn
from slack_bolt.adapter.socket_mode.async_handler import AsyncSocketModeHandler

from bot.app import build_runtime
from bot.config import Settings


async def run_socket_mode(settings: Settings, host: str, port: int) -> None:
    rt = build_runtime(settings)
    assert rt.web is not None
    server = uvicorn.Server(
        uvicorn.Config(rt.web, host=host, port=port, log_level="warning", access_log=False)
    )
    handler = AsyncSocketModeHandler(rt.bolt, settings.slack_app_token)
    await handler.connect_async()
    try:
        await server.serve()  # runs the lifespan, which starts the workers
    finally:
        await handler.close_async()
