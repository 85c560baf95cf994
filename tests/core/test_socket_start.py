"""`opsbot socket` serves its HTTP endpoints before Slack answers: a slow or unreachable Slack
must not make the pod look dead to its liveness probe."""

from __future__ import annotations

import asyncio
import socket
from pathlib import Path

import httpx

from bot.config import load_settings
from bot.sandbox.harness import BOT_TOKEN, create_tables
from bot.socket_mode import run_socket_mode


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def test_livez_answers_while_the_slack_connection_is_still_pending(tmp_path: Path) -> None:
    """Slack here is a port that accepts connections and never says a word."""
    held: list[asyncio.StreamWriter] = []
    reached = asyncio.Event()

    async def never_answer(_reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        held.append(writer)
        reached.set()

    silent = await asyncio.start_server(never_answer, "127.0.0.1", 0)
    slack = f"http://127.0.0.1:{silent.sockets[0].getsockname()[1]}/api/"
    database = f"sqlite+aiosqlite:///{tmp_path}/socket.db"
    await create_tables(database)
    settings = load_settings(
        slack_bot_token=BOT_TOKEN,
        slack_app_token="xapp-1-A0OPSBOT-test",
        slack_api_url=slack,
        database_url=database,
    )
    port = _free_port()
    running = asyncio.create_task(run_socket_mode(settings, "127.0.0.1", port))
    try:
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as http:
            for _ in range(200):
                try:
                    live = await http.get("/livez")
                    break
                except httpx.TransportError:
                    await asyncio.sleep(0.05)
            else:
                raise AssertionError("the HTTP server never came up")
            assert live.status_code == 200
            await asyncio.wait_for(reached.wait(), 10)  # the bot is talking to "Slack"...
            assert not running.done()  # ...which has not answered, and the bot waits
            assert (await http.get("/livez")).status_code == 200
    finally:
        running.cancel()
        await asyncio.gather(running, return_exceptions=True)
        for writer in held:
            writer.close()
        silent.close()
