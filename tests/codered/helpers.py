"""Helpers for code red tests: declaring through the modal, moving time, finding the war room."""

from __future__ import annotations

import datetime as dt
from typing import Any

from bot.codered.service.options import Options
from bot.codered.workflows.tick import TickReport, tick
from bot.core.db import transaction
from bot.sandbox.harness import BotUnderTest
from bot.sandbox.models import Channel, Message
from bot.sandbox.seed import ALICE, BOB, CAROL, GENERAL
from bot.standups.service import schedule
from bot.standups.workflows.tick import tick as standups_tick
from tests.standups.helpers import Clock

CONFIG: dict[str, Any] = {
    "admins": [ALICE],
    "codered": {"announce_channel": GENERAL, "declarers": [BOB]},
}


def declare_values(**overrides: Any) -> dict[str, Any]:
    values: dict[str, Any] = {
        "level": {"type": "static_select", "selected_option": {"value": "red"}},
        "focus": {"type": "plain_text_input", "value": "Checkout errors"},
        "owner": {"type": "users_select", "selected_user": ALICE},
        "exit": {"type": "plain_text_input", "value": "Error rate under 0.1% for 7 days"},
        "target": {"type": "datepicker", "selected_date": None},
        "people": {"type": "multi_users_select", "selected_users": [BOB, CAROL]},
        "paused": {"type": "plain_text_input", "value": "Search revamp"},
        "call": {"type": "url_text_input", "value": "https://meet.example/cr"},
    }
    values.update(overrides)
    return {block: {"v": value} for block, value in values.items()}


async def declare(bot: BotUnderTest, user: str = ALICE, **overrides: Any) -> dict[str, Any] | None:
    """`/codered declare`, then submit the modal; returns the modal's ack body (None: closed)."""
    await bot.slack.command("/codered", "declare", user=user, channel=GENERAL)
    response = await bot.slack.view_submission(user, "codered.declare", declare_values(**overrides))
    assert response.status_code == 200
    await bot.settle()
    return response.json() if response.content else None


async def tick_all(bot: BotUnderTest, clock: Clock, when: dt.datetime) -> tuple[TickReport, Any]:
    """Both scheduled jobs at `when`: the check-in (standups) and the code red's own."""
    clock.move(when)
    opts = Options.from_settings(bot.rt.settings)
    async with transaction(bot.rt.sessions) as session:
        checkins = await standups_tick(session, when, holidays=schedule.holiday_set([]))
    async with transaction(bot.rt.sessions) as session:
        report = await tick(session, opts, when)
    await bot.settle()
    return report, checkins


def war_room(bot: BotUnderTest) -> Channel:
    found = next((c for c in bot.state.channels.values() if c.name.startswith("codered-")), None)
    assert found is not None, "no war room"
    return found


def header(bot: BotUnderTest) -> Message:
    pinned = [m for m in bot.state.messages(war_room(bot).id) if m.pinned]
    assert len(pinned) == 1, "exactly one pinned header"
    return pinned[0]


def bot_posts(bot: BotUnderTest, channel: str) -> list[Message]:
    return [m for m in bot.state.messages(channel) if m.user == bot.state.bot_user_id]


def blocks_text(message: Message) -> str:
    return str(message.blocks)


async def codered(bot: BotUnderTest, text: str, user: str = ALICE) -> str:
    before = len(bot.state.ephemerals)
    response = await bot.slack.command("/codered", text, user=user, channel=GENERAL)
    assert response.status_code == 200
    await bot.settle()
    return "\n".join(e.text for e in bot.state.ephemerals[before:])
