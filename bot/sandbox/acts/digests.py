"""The digests scene of `opsbot demo`: chatter, a daily digest, a weekly one with its chart."""

from __future__ import annotations

from typing import TYPE_CHECKING

from bot.sandbox.seed import ALICE, BOB, CAROL, CI_ALERTS, DAVE, ERIN, GENERAL

if TYPE_CHECKING:
    from bot.sandbox.harness import BotUnderTest


async def _chatter(bot: BotUnderTest) -> None:
    say = bot.slack.user_message
    notes = await say(GENERAL, DAVE, "Release notes for 4.2 are drafted, comments welcome")
    for person, text in ((BOB, "Looks good"), (ERIN, "Added the QA notes"), (ALICE, "Ship it")):
        await say(GENERAL, person, text, thread_ts=notes)
    await bot.slack.user_react(GENERAL, notes, CAROL, "tada")
    await say(GENERAL, CAROL, "Who owns the nightly billing job?")
    typo = await say(GENERAL, BOB, "lunch at noon, anyone?")
    await bot.slack.user_edit(GENERAL, typo, "Lunch at 12:30, anyone?")


async def _ops(bot: BotUnderTest, out: list[str], text: str, user: str, channel: str) -> None:
    response = await bot.slack.command("/ops", text, user=user, channel=channel)
    answer = bot.state.ephemerals_for(user)[-1].text if response.status_code == 200 else ""
    out.append(f"{bot.state.users[user].name}: /ops {text}\n  -> {answer}")


async def act(bot: BotUnderTest, out: list[str]) -> None:
    await _chatter(bot)
    await bot.settle()
    out.append("A day in #general: a busy thread, a reaction, a question nobody answered.")
    await _ops(bot, out, "digest daily 09:00", ALICE, GENERAL)
    await _ops(bot, out, "digest now", ALICE, GENERAL)
    await bot.settle()
    await _ops(bot, out, "digest weekly mon 09:00", BOB, CI_ALERTS)
    await _ops(bot, out, "digest now", BOB, CI_ALERTS)
    await bot.settle()
    # The chart follows once its digest is posted (a retried task): give it a moment.
    try:
        await bot.state.wait_for(
            lambda: any(f.completed for f in bot.state.files.values() if CI_ALERTS in f.channels),
            timeout=15,
        )
        out.append("The weekly digest in #ci-alerts is followed by its four-week chart (PNG).")
    except TimeoutError:
        out.append("The weekly chart was not uploaded (is matplotlib installed?).")
