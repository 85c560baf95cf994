"""The Slack sandbox in a process of its own: `python -m bench.sandbox_server PORT`."""

from __future__ import annotations

import asyncio
import sys

from bot.sandbox.server import Sandbox


async def serve(port: int) -> None:
    sandbox = Sandbox()
    await sandbox.start(port=port)
    await asyncio.Event().wait()


if __name__ == "__main__":
    asyncio.run(serve(int(sys.argv[1])))
