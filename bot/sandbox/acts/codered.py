"""Demo act: declare a code red, two check-ins (one blocked), a loan, a pause, and resolve."""

from __future__ import annotations

import datetime as dt
from typing import Any

from bot.codered.service.options import Options, zone
from bot.codered.workflows.tick import tick
from bot.core.db import transaction, utcnow
from bot.sandbox import seed
from bot.sandbox.acts.standups import run_tick, write_standup
from bot.sandbox.harness import BotUnderTest

FORM: dict[str, Any] = {
    "level": {"type": "static_select", "selected_option": {"value": "red"}},
    "focus": {"type": "plain_text_input", "value": "Checkout errors"},
    "owner": {"type": "users_select", "selected_user": seed.ALICE},
    "exit": {"type": "plain_text_input", "value": "Checkout error rate under 0.1% for 7 days"},
    "people": {"type": "multi_users_select", "selected_users": [seed.BOB, seed.CAROL]},
    "paused": {"type": "plain_text_input", "value": "Search revamp"},
    "call": {"type": "url_text_input", "value": "https://meet.example.com/code-red"},
}


def next_business_morning(now: dt.datetime, minute_of_day: int, tz: str) -> dt.datetime:
    """The next weekday at the check-in time in `tz`, after `now` (UTC)."""
    local = now.astimezone(zone(tz))
    day = local.date()
    while True:
        moment = dt.datetime.combine(day, dt.time(minute_of_day // 60, minute_of_day % 60))
        candidate = moment.replace(tzinfo=zone(tz)).astimezone(dt.UTC)
        if day.weekday() < 5 and candidate > now:
            return candidate
        day += dt.timedelta(days=1)


async def codered_tick(bot: BotUnderTest, when: dt.datetime) -> None:
    async with transaction(bot.rt.sessions) as session:
        await tick(session, Options.from_settings(bot.rt.settings), when)
    await bot.settle()


async def command(bot: BotUnderTest, out: list[str], text: str, user: str = seed.ALICE) -> None:
    response = await bot.slack.command("/codered", text, user=user, channel=seed.GENERAL)
    await bot.settle()
    out.append(f"{user} types /codered {text} -> HTTP {response.status_code}")


async def act(bot: BotUnderTest, out: list[str]) -> None:
    opts = Options.from_settings(bot.rt.settings)
    out.append("alice (a declarer) runs /codered declare and fills in the form")
    await bot.slack.command("/codered", "declare", user=seed.ALICE, channel=seed.GENERAL)
    await bot.slack.view_submission(
        seed.ALICE, "codered.declare", {k: {"v": v} for k, v in FORM.items()}
    )
    await bot.settle()
    out.append("  -> war room #codered-checkout-errors with a pinned header; announced in #general")

    # The demo runs at real time: the jobs are called with the moments they would fire at.
    checkin = next_business_morning(utcnow(), opts.checkin_minute, "Europe/Paris")
    out.append(f"  the check-in job at 10:00 Paris time: {await run_tick(bot, checkin)}")
    out.append("alice and carol check in by DM; carol is blocked")
    await write_standup(bot, seed.ALICE, ["Rolled back the bad cache", "Add alerting", "none"])
    await write_standup(
        bot, seed.CAROL, ["Traced the 502s", "Fix the pool size", "Need prod DB credentials"]
    )
    out.append("  -> the check-in digest in the war room shows the blocker first")
    call = checkin.astimezone(zone("Europe/Paris")).replace(hour=15, minute=30)
    await codered_tick(bot, call.astimezone(dt.UTC))
    out.append("  the code red job at 15:30: call reminder, agenda from open blockers")

    until = (checkin + dt.timedelta(days=3)).date().isoformat()
    await command(bot, out, f"loan <@{seed.DAVE}> until {until}")
    await command(bot, out, f'pause "Mobile redesign" <@{seed.ERIN}>')
    await command(bot, out, "level orange steady; the fix is rolling out")
    await command(bot, out, "resolve Checkout errors back under 0.1% after the pool fix")
    out.append("  -> announcement, retro in the war room, erin asked to resume Mobile redesign")
