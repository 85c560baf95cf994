"""Helpers for standup tests: a bot whose clock the test moves, and what people do in Slack."""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import time_machine

from bot.core.db import transaction
from bot.sandbox.harness import BotUnderTest, running_bot
from bot.sandbox.models import Message
from bot.standups.service import schedule
from bot.standups.workflows.tick import TickReport, tick

UTC = dt.UTC


def at(text: str) -> dt.datetime:
    """'2026-03-06 08:00' in UTC."""
    return dt.datetime.fromisoformat(text).replace(tzinfo=UTC)


@asynccontextmanager
async def quiet_bot(db_url: str, **config: Any) -> AsyncIterator[BotUnderTest]:
    """The bot with its workers but without the background scheduler: the test says when."""
    async with running_bot(db_url, start_workers=False, **config) as bot:
        bot.rt.projector.start()
        bot.rt.tasks.start()
        bot.rt.started = True
        yield bot


class Clock:
    """Moves the whole process's clock (Slack signatures, the sandbox, the bot) forward."""

    def __init__(self, traveller: time_machine.Coordinates) -> None:
        self.traveller = traveller

    def move(self, when: dt.datetime) -> None:
        self.traveller.move_to(when)


@asynccontextmanager
async def clock_at(start: dt.datetime) -> AsyncIterator[Clock]:
    with time_machine.travel(start, tick=True) as traveller:
        yield Clock(traveller)


async def tick_at(
    bot: BotUnderTest, clock: Clock, when: dt.datetime, holidays: list[str] | None = None
) -> TickReport:
    clock.move(when)
    async with transaction(bot.rt.sessions) as session:
        report = await tick(session, when, holidays=schedule.holiday_set(holidays or []))
    await bot.settle()
    return report


def dm_messages(bot: BotUnderTest, user: str) -> list[Message]:
    channel = bot.state.im_with(user)
    return [] if channel is None else bot.state.messages(channel.id)


def channel_messages(bot: BotUnderTest, channel: str) -> list[Message]:
    return [m for m in bot.state.messages(channel) if m.user == bot.state.bot_user_id]


def texts(messages: list[Message]) -> list[str]:
    return [m.text for m in messages]


def answer_values(answers: list[str]) -> dict[str, Any]:
    return {
        f"q{index}": {"v": {"type": "plain_text_input", "value": text}}
        for index, text in enumerate(answers)
    }


async def write_standup(bot: BotUnderTest, user: str, answers: list[str]) -> dict[str, Any]:
    """Click "Write standup" in the latest prompt DM, then send the modal; returns the modal."""
    dm = bot.state.im_with(user)
    assert dm is not None, f"{user} has no DM from the bot"
    prompt = next(
        m for m in reversed(bot.state.messages(dm.id)) if "standups.write" in str(m.blocks)
    )
    response = await bot.slack.block_action(
        user, "standups.write", channel=dm.id, message_ts=prompt.ts
    )
    assert response.status_code == 200
    modal = bot.state.open_views(user)[-1]
    assert modal.callback_id == "standups.answer"
    response = await bot.slack.view_submission(user, "standups.answer", answer_values(answers))
    assert response.status_code == 200
    await bot.settle()
    return modal.payload


async def command(bot: BotUnderTest, text: str, user: str, channel: str = "C0STANDUP") -> str:
    """Run `/standup <text>` and return the ephemeral answer the person saw."""
    before = len(bot.state.ephemerals)
    response = await bot.slack.command("/standup", text, user=user, channel=channel)
    assert response.status_code == 200
    await bot.settle()
    shown = bot.state.ephemerals[before:]
    return "\n".join(e.text for e in shown)


def of_kind(messages: list[Message], kind: str) -> list[Message]:
    """Messages that are the projector's view of `kind` (e.g. standups.prompt)."""
    return [
        m for m in messages if ((m.metadata or {}).get("event_payload") or {}).get("kind") == kind
    ]
