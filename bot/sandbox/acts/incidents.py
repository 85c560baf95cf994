"""The incidents scene of `opsbot demo`: declare, pin, update, resolve, read the postmortem."""

from __future__ import annotations

from typing import TYPE_CHECKING

from sqlalchemy import func, select

from bot.incidents.models import Incident
from bot.incidents.settings import SECTION as INCIDENTS
from bot.sandbox.seed import ALICE, BOB, CAROL, GENERAL

if TYPE_CHECKING:
    from bot.sandbox.harness import BotUnderTest

POSTMORTEM_LINES = 40


async def _latest(bot: BotUnderTest) -> Incident:
    async with bot.rt.sessions() as session:
        number = await session.scalar(select(func.max(Incident.id)))
        incident = await session.get(Incident, number) if number else None
    if incident is None:
        raise RuntimeError("the declare did not create an incident")
    return incident


async def act(bot: BotUnderTest, out: list[str]) -> None:
    announce = bot.rt.settings.section(INCIDENTS).announce_channel
    await bot.slack.command("/incident", "declare Checkout returns 502 sev1", ALICE, GENERAL)
    await bot.settle()
    incident = await _latest(bot)
    channel = incident.channel_id or ""
    out.append(
        f"Alice declares incident #{incident.number}: #{incident.channel_name} is created, the "
        f"card is pinned there, and it is announced in {bot.state.display_name(announce or '')}."
    )

    await bot.slack.command("/incident", "role communications <@U0BOB|bob>", ALICE, channel)
    await bot.slack.member_joined(channel, CAROL)
    said = await bot.slack.user_message(channel, CAROL, "502s began right after deploy 4812")
    await bot.slack.user_pin(channel, said, CAROL)
    await bot.settle()
    out.append("Bob becomes communications lead (DM with duties); Carol pins a clue: timeline.")

    await bot.slack.command(
        "/incident", "update Rolled back deploy 4812; error rate is falling", BOB, channel
    )
    await bot.slack.command("/incident", "status mitigated", ALICE, channel)
    await bot.slack.command(
        "/incident", "followup Add a canary stage for checkout <@U0CAROL|carol>", ALICE, channel
    )
    await bot.settle()
    out.append("Bob posts an update (channel + announcement thread); Alice marks it mitigated.")

    await bot.slack.command("/incident", "resolve Bad deploy 4812 rolled back", ALICE, channel)
    await bot.settle()
    incident = await _latest(bot)
    out.append(
        f"Alice resolves #{incident.number}; both cards show time to mitigate and resolve, and the "
        f"postmortem draft is uploaded to the channel (times in {incident.postmortem_tz}):"
    )
    lines = (incident.postmortem_md or "(no postmortem)").splitlines()[:POSTMORTEM_LINES]
    out.extend(f"    {line}" for line in lines)
