"""`opsbot demo`: the whole bot against the local sandbox, with a scripted scenario.

Each feature contributes an act (`bot/<feature>/demo.py`, `async def act(bot, out)`); the demo
plays them in order on a temporary SQLite database, then prints every channel as a transcript.
"""

from __future__ import annotations

import importlib
import logging
import shutil
import tempfile
import time
from pathlib import Path
from typing import Any

from bot.features import FEATURES
from bot.migrate import upgrade
from bot.sandbox import seed
from bot.sandbox.acts import workspaces
from bot.sandbox.harness import BotUnderTest, running_bot
from bot.sandbox.server import Sandbox
from bot.sandbox.transcript import render_workspace

DEMO_GITHUB_SECRET = "demo-github-secret"


def demo_config() -> dict[str, Any]:
    """Settings a real operator would write, pointing at the sandbox's seeded workspace."""
    return {
        "admins": [seed.ALICE],
        "github_webhook_secret": DEMO_GITHUB_SECRET,
        "incidents": {"announce_channel": seed.INCIDENTS, "channel_prefix": "inc"},
        "ci": {
            "routes": [
                {"repo": "octo-org/octo-repo", "branches": ["main"], "channel": seed.CI_ALERTS}
            ],
        },
        "codered": {"announce_channel": seed.GENERAL, "declarers": [seed.ALICE]},
    }


async def _opening_act(bot: BotUnderTest, out: list[str]) -> None:
    out.append("alice asks opsbot what it can do: /ops help")
    response = await bot.slack.command("/ops", "help", user=seed.ALICE, channel=seed.GENERAL)
    out.append(f"  -> HTTP {response.status_code}, answered ephemerally")


async def _play(bot: BotUnderTest) -> list[str]:
    out: list[str] = []
    await _opening_act(bot, out)
    for package in FEATURES:
        try:
            module = importlib.import_module(f"bot.sandbox.acts.{package.removeprefix('bot.')}")
        except ModuleNotFoundError:
            continue
        started = time.perf_counter()
        out.append(f"\n== act: {package.removeprefix('bot.')} ==")
        await module.act(bot, out)
        await bot.settle(timeout=30)
        out.append(f"   ({time.perf_counter() - started:.1f}s)")
    return out


async def run_demo(keep: bool = False) -> int:
    logging.getLogger().setLevel(logging.WARNING)
    directory = Path(tempfile.mkdtemp(prefix="opsbot-demo-"))
    database_url = f"sqlite+aiosqlite:///{directory}/demo.db"
    upgrade(database_url)
    try:
        async with (
            Sandbox() as sandbox,
            running_bot(database_url, sandbox=sandbox, **demo_config()) as bot,
        ):
            narration = await _play(bot)
            await bot.settle(timeout=30)
            calls = len(sandbox.state.calls)
        narration.append("\n== act: workspaces (a second deployment, in OAuth mode) ==")
        await workspaces.play(directory, narration)
        print("opsbot demo: the bot against a local Slack sandbox\n")
        print("\n".join(narration))
        print("\n" + "=" * 78 + "\nWhat Slack shows now\n" + "=" * 78)
        print(render_workspace(sandbox.state))
        print(f"\n{calls} Web API calls made. Database: {directory / 'demo.db'}")
    finally:
        if not keep:
            shutil.rmtree(directory, ignore_errors=True)
    return 0
