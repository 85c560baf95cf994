"""Helpers for the digests tests: a sandbox whose clock the test moves, and the bot on it."""

from __future__ import annotations

import datetime as dt
import json
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import func, select

from bot.core.db import utcnow
from bot.digests.models import ActivityMessage, DigestRun
from bot.digests.workflows import runner
from bot.sandbox.harness import BotUnderTest, running_bot
from bot.sandbox.seed import ALICE, GENERAL
from bot.sandbox.server import Sandbox
from bot.sandbox.state import SandboxState

PARIS = ZoneInfo("Europe/Paris")


class Clock:
    """The sandbox's wall clock: message ts values follow it, so a day can be scripted."""

    def __init__(self, start: dt.datetime | None = None) -> None:
        self.now = (start or utcnow()).timestamp()

    def __call__(self) -> float:
        return self.now

    def at(self, moment: dt.datetime) -> None:
        self.now = moment.timestamp()


def next_local(hour: int, zone: ZoneInfo = PARIS, after: dt.datetime | None = None) -> dt.datetime:
    """The next HH:00 in `zone` after `after` (now), in UTC."""
    after = after or utcnow()
    local = after.astimezone(zone)
    candidate = dt.datetime.combine(local.date(), dt.time(hour), zone)
    if candidate <= local:
        candidate = dt.datetime.combine(local.date() + dt.timedelta(days=1), dt.time(hour), zone)
    return candidate.astimezone(dt.UTC)


@asynccontextmanager
async def digest_bot(
    db_url: str, clock: Clock | None = None, sandbox: Sandbox | None = None, **config: Any
) -> AsyncIterator[BotUnderTest]:
    """The bot on a sandbox driven by `clock`; jobs are fired by the tests, not by timers."""
    own = sandbox is None
    if sandbox is None:
        sandbox = Sandbox(SandboxState(clock=clock or time.time))
        await sandbox.start()
    try:
        async with running_bot(db_url, sandbox=sandbox, admins=[ALICE], **config) as bot:
            await bot.rt.scheduler.stop()
            yield bot
    finally:
        if own:
            await sandbox.stop()


async def ops(bot: BotUnderTest, text: str, user: str = ALICE, channel: str = GENERAL) -> str:
    """Run `/ops <text>` with a signed request; the ephemeral answer."""
    before = len(bot.state.ephemerals_for(user))
    response = await bot.slack.command("/ops", text, user=user, channel=channel)
    assert response.status_code == 200, response.text
    answers = bot.state.ephemerals_for(user)
    assert len(answers) == before + 1
    return str(answers[-1].text)


async def stored(bot: BotUnderTest, channel: str = GENERAL) -> list[ActivityMessage]:
    async with bot.rt.sessions() as session:
        rows = await session.scalars(
            select(ActivityMessage)
            .where(ActivityMessage.channel == channel, ActivityMessage.deleted.is_(False))
            .order_by(ActivityMessage.ts)
        )
        return list(rows)


async def runs(bot: BotUnderTest) -> list[DigestRun]:
    async with bot.rt.sessions() as session:
        return list(await session.scalars(select(DigestRun).order_by(DigestRun.id)))


async def count(bot: BotUnderTest, model: type) -> int:
    async with bot.rt.sessions() as session:
        return int(await session.scalar(select(func.count()).select_from(model)) or 0)


async def fire(bot: BotUnderTest, now: dt.datetime) -> list[int]:
    """The digest sweep job's body at `now`, then everything it started."""
    created = await runner.sweep(bot.rt, now)
    await bot.settle()
    return created


def digests_in(bot: BotUnderTest, channel: str = GENERAL) -> list[Any]:
    """Digest messages the bot posted in the channel (top level)."""
    return [
        m
        for m in bot.state.messages(channel)
        if m.user == bot.state.bot_user_id and "digest" in (m.text or "")
    ]


def text_of(message: Any) -> str:
    """Everything a reader sees in a message: fallback text and every block."""
    return (message.text or "") + json.dumps(message.blocks or [], ensure_ascii=False)
