"""The projector against Slack's published limits.

    python -m bench projector [--tasks 100] [--rate 5] [--seconds 60] [--channels 10]

Each of N task cards changes `rate` times a second for `seconds` (as agent progress would);
the sandbox enforces Slack's limits and answers 429 when they are broken. Reported: Web API
calls, 429s, the lag from the last change to the last update, and whether every card shows
its final state.
"""

from __future__ import annotations

import asyncio
import tempfile
import time
from pathlib import Path
from typing import Any

from slack_sdk.models.blocks import SectionBlock

from bot.app import Tuning
from bot.core.db import transaction
from bot.core.projector import Rendered, mark_dirty
from bot.sandbox.harness import create_tables, running_bot

KIND = "bench.task"


async def run(tasks: int, rate: float, seconds: float, channels: int) -> list[str]:
    directory = Path(tempfile.mkdtemp(prefix="opsbot-bench-"))
    url = f"sqlite+aiosqlite:///{directory}/bench.db"
    await create_tables(url)
    tuning = Tuning(lease_seconds=30, task_sweep_seconds=0.2, projector_sweep_seconds=0.5)
    state: dict[str, str] = {}
    async with running_bot(url, tuning=tuning) as bot:
        bot.state.rate_limits.enabled = True
        targets = [bot.state.add_channel(f"agents-{n}", [bot.state.bot_user_id])
                   for n in range(channels)]  # fmt: skip

        async def load(_session: Any, record_id: str) -> tuple[str, str]:
            return record_id, state[record_id]

        def view(card: tuple[str, str]) -> Rendered:
            record_id, text = card
            channel = targets[int(record_id) % channels]
            return Rendered(channel=channel, text=text, blocks=[SectionBlock(text=text)])

        bot.rt.projector.register(KIND, load, view)
        started = time.monotonic()
        step = 0
        while time.monotonic() - started < seconds:
            async with transaction(bot.rt.sessions) as session:
                for task in range(tasks):
                    state[str(task)] = f"task {task}: step {step}"
                    await mark_dirty(session, KIND, str(task))
            step += 1
            await asyncio.sleep(max(0.0, started + step / rate - time.monotonic()))
        last_change = time.monotonic()
        await bot.settle(timeout=900)
        last_update = max((c.at for c in bot.state.calls), default=0)
        lag = time.monotonic() - last_change - (time.time() - last_update)
        calls = bot.state.calls
        limited = sum(1 for c in calls if c.status == 429)
        final = {m.text for ch in targets for m in bot.state.messages(ch)}
        delivered = sum(1 for task in range(tasks) if state[str(task)] in final)
    return [
        f"{tasks} cards x {rate:g} changes/s for {seconds:g}s in {channels} channels "
        f"({tasks * step} changes)",
        f"  Web API calls: {len(calls)} (chat.postMessage "
        f"{sum(c.method == 'chat.postMessage' for c in calls)}, chat.update "
        f"{sum(c.method == 'chat.update' for c in calls)}), 429s: {limited}",
        f"  lag from the last change to the last update: {lag:.1f}s",
        f"  final state delivered: {delivered}/{tasks}",
    ]
