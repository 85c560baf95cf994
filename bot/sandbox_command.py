"""`opsbot sandbox`: the local Slack stand-in as a process of its own, for `serve` or `socket`.

It prints the settings that point the bot at it, one `NAME=value` line each on stdout (so they
can be pasted after `export`, or saved as an env file), and runs until SIGINT or SIGTERM. Only
the CLI imports this module: product code never reaches the sandbox.
"""

from __future__ import annotations

import asyncio
import signal
import socket
import sys

from bot.sandbox.server import Sandbox
from bot.sandbox.state import SandboxState

# The harness's credentials (a test holds them equal), not imported from it: the harness loads
# the whole bot, which would triple this command's start-up time.
BOT_TOKEN = "xoxb-sandbox-token"
SIGNING_SECRET = "sandbox-signing-secret"
# Any xapp- token opens the sandbox's Socket Mode; this one names its app.
APP_TOKEN = "xapp-1-A0OPSBOT-sandbox"


def environment(sandbox: Sandbox) -> dict[str, str]:
    return {
        "SLACK_API_URL": sandbox.url,
        "SLACK_BOT_TOKEN": BOT_TOKEN,
        "SLACK_SIGNING_SECRET": SIGNING_SECRET,
        "SLACK_APP_TOKEN": APP_TOKEN,
    }


async def run_sandbox(host: str, port: int, rate_limits: bool) -> int:
    state = SandboxState()
    # Only the printed bot token works, as in a real workspace: a typo gets invalid_auth.
    state.valid_tokens = {BOT_TOKEN}
    state.rate_limits.enabled = rate_limits
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    try:  # uvicorn would exit the whole process from inside its task: ask first
        socket.create_server((host, port)).close()
    except OSError as error:
        print(f"opsbot: sandbox cannot listen on {host}:{port} ({error.strerror})", file=sys.stderr)
        return 1
    sandbox = await Sandbox(state).start(host, port)
    try:
        for name, value in environment(sandbox).items():
            print(f"{name}={value}")
        limits = "enforces Slack's rate limits" if rate_limits else "enforces no rate limits"
        print(
            f"opsbot: Slack sandbox on {sandbox.base} ({limits}); the workspace as a transcript: "
            f"{sandbox.base}/sandbox/transcript. Ctrl-C stops it.",
            file=sys.stderr,
        )
        print(
            "opsbot: to install the bot by OAuth instead of SLACK_BOT_TOKEN, set "
            f"SLACK_CLIENT_ID={state.oauth.client_id} "
            f"SLACK_CLIENT_SECRET={state.oauth.client_secret} and OPSBOT_PUBLIC_URL, then "
            "open <OPSBOT_PUBLIC_URL>/slack/install: the sandbox approves the install at once.",
            file=sys.stderr,
        )
        sys.stdout.flush()
        await stop.wait()
    finally:
        await sandbox.stop()
    return 0
