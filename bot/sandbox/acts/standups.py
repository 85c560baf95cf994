"""Demo act: set up a standup and run one day of it (prompts, answers, reminder, digest)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from bot.core.db import transaction, utcnow
from bot.sandbox import seed
from bot.sandbox.harness import BotUnderTest
from bot.standups.service import schedule
from bot.standups.service.kinds import WRITE_ACTION
from bot.standups.workflows.tick import tick


async def write_standup(bot: BotUnderTest, user: str, answers: list[str]) -> None:
    """What a person does: click "Write standup" in the DM, fill the modal, send it."""
    dm = bot.state.im_with(user)
    if dm is None:
        raise RuntimeError(f"{user} got no prompt")
    prompt = next(m for m in reversed(bot.state.messages(dm.id)) if WRITE_ACTION in str(m.blocks))
    await bot.slack.block_action(user, WRITE_ACTION, channel=dm.id, message_ts=prompt.ts)
    values: dict[str, Any] = {
        f"q{index}": {"v": {"type": "plain_text_input", "value": text}}
        for index, text in enumerate(answers)
    }
    await bot.slack.view_submission(user, "standups.answer", values)
    await bot.settle()


async def run_tick(bot: BotUnderTest, when: dt.datetime) -> str:
    async with transaction(bot.rt.sessions) as session:
        report = await tick(session, when)
    await bot.settle()
    return f"{report.prompts} prompt(s), {report.reminders} reminder(s), {report.cutoffs} cutoff(s)"


async def act(bot: BotUnderTest, out: list[str]) -> None:
    # The demo runs at real time, so the day is played by calling the job with chosen times.
    start = (utcnow() + dt.timedelta(minutes=2)).replace(second=0, microsecond=0)
    hhmm = schedule.time_text(start.hour * 60 + start.minute)
    text = (
        f'create "Team daily" <#{seed.STANDUP}|standup> {hhmm} <@{seed.ALICE}> <@{seed.BOB}> '
        f"<@{seed.CAROL}> days=daily tz=UTC reminder=60 cutoff=120"
    )
    out.append(f"alice sets up a standup: /standup {text}")
    await bot.slack.command("/standup", text, user=seed.ALICE, channel=seed.STANDUP)
    await bot.settle()
    out.append(f"  the job runs at {hhmm} UTC: {await run_tick(bot, start)}")
    out.append("alice answers from her DM: the digest appears in #standup")
    await write_standup(bot, seed.ALICE, ["Shipped the importer", "Review PRs", "none"])
    out.append("bob answers with a blocker: the digest is updated in place, blockers first")
    await write_standup(
        bot, seed.BOB, ["Fixed the flaky test", "Deploy the API", "Waiting on DB access"]
    )
    later = start + dt.timedelta(minutes=60)
    out.append(f"  the job at +60 min reminds carol: {await run_tick(bot, later)}")
    closed = start + dt.timedelta(minutes=120)
    out.append(f"  the job at the cutoff closes the day: {await run_tick(bot, closed)}")
    response = await bot.slack.command(
        "/standup", "stats team daily", user=seed.ALICE, channel=seed.STANDUP
    )
    out.append(f"alice asks /standup stats team daily -> HTTP {response.status_code}, ephemeral")
