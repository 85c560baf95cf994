"""`/ops digest ...` and `/ops activity ...`: parse, check, then write rows (or answer why not).

Called by the /ops handler; every answer is one ephemeral line. Bad input raises UsageError
before anything is written (the text is parsed by `bot.digests.service.commands`).
"""

from __future__ import annotations

import asyncio
import datetime as dt
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from bot.core.commands import UsageError
from bot.core.db import transaction, utcnow
from bot.digests import service
from bot.digests.models import ActivityOptOut, DigestSchedule
from bot.digests.service import activity
from bot.digests.service.activity import activity_retention
from bot.digests.service.commands import DigestRequest, parse_digest, parse_zone
from bot.digests.settings import SECTION as DIGESTS

if TYPE_CHECKING:
    from bot.feature import FeatureContext

SLACK_CALL_SECONDS = 2.0


def _require_channel(channel: str) -> None:
    if not channel.startswith(("C", "G")):
        raise UsageError("Digests and activity belong to channels: run this in the channel.")


async def _user_zone(rt: FeatureContext, user: str) -> str:
    """The person's Slack time zone, or UTC when Slack does not answer quickly."""
    try:
        response = await asyncio.wait_for(rt.client.users_info(user=user), SLACK_CALL_SECONDS)
        return parse_zone(str(response["user"].get("tz") or "UTC"))
    except Exception:  # a slow or failing lookup must not fail the command
        return "UTC"


async def _bot_is_member(rt: FeatureContext, channel: str) -> bool:
    """Whether the bot is in `channel`, as the access directory says.

    A no is asked again afresh (the person may have just invited the bot). When it cannot be
    told (Slack did not answer, or the bot's own id is not known yet) the answer is yes: the
    projector retries a post that fails, while a wrong no would send the person off to invite a
    bot that is already there.
    """
    known = rt.identity.known
    if known is None:  # the first request after a start: ask, as briefly as other lookups here
        try:
            known = await asyncio.wait_for(rt.identity.fetch(), SLACK_CALL_SECONDS)
        except TimeoutError:
            known = None
    if known is None:
        return True
    bot_user = known.user_id
    directory = rt.policy.directory
    facts = await directory.facts(channel)
    if facts.known and bot_user not in facts.members:
        directory.forget(channel)
        facts = await directory.facts(channel)
    return not facts.known or bot_user in facts.members


def _when(request: DigestRequest | DigestSchedule, zone: str) -> str:
    hour, minute = divmod(request.minute_of_day, 60)
    if request.cadence == "weekly" and request.weekday is not None:
        day = dt.date(2024, 1, 1 + request.weekday).strftime("%A")  # 2024-01-01 was a Monday
        return f"every {day} at {hour:02d}:{minute:02d} ({zone})"
    return f"every day at {hour:02d}:{minute:02d} ({zone})"


async def digest_command(rt: FeatureContext, args: list[str], user: str, channel: str) -> str:
    request = parse_digest(args)
    _require_channel(channel)
    if request.action == "status":
        return await _status(rt, channel)
    if request.action in ("set", "now") and not await _bot_is_member(rt, channel):
        return f"I am not in <#{channel}>: invite me first (`/invite @opsbot`), then ask again."
    if request.action == "off":
        async with transaction(rt.sessions) as session:
            await service.turn_off(session, channel, user)
        return f"No more digests in <#{channel}>. Turn them back on with `/ops digest daily 09:00`."
    if request.action == "now":
        zone = await _user_zone(rt, user)
        async with transaction(rt.sessions) as session:
            in_force = await service.specs(session, rt.settings.section(DIGESTS))
            run = await service.request_now(session, in_force, channel, user, zone)
        return f"Putting together a {run.period} digest of <#{channel}>; it is posted in a moment."
    zone = request.timezone or await _user_zone(rt, user)
    async with transaction(rt.sessions) as session:
        row = await service.set_schedule(
            session,
            channel,
            cadence=request.cadence,
            weekday=request.weekday,
            minute_of_day=request.minute_of_day,
            timezone=zone,
            user=user,
        )
        spec = service.spec_for(await service.specs(session, rt.settings.section(DIGESTS)), channel)
    upcoming = service.next_fire(spec, utcnow()) if spec else None
    nxt = f" Next: {upcoming.astimezone(ZoneInfo(zone)):%a %d %b %H:%M}." if upcoming else ""
    return f"{row.cadence.capitalize()} digest for <#{channel}>: {_when(row, zone)}.{nxt}"


async def _status(rt: FeatureContext, channel: str) -> str:
    async with rt.sessions() as session:
        row = await session.get(DigestSchedule, channel)
        in_force = await service.specs(session, rt.settings.section(DIGESTS))
    if row is not None and not row.enabled:
        return f"Digests are off in <#{channel}> (turned off by <@{row.set_by}>)."
    if row is not None:
        return f"<#{channel}> gets a {row.cadence} digest {_when(row, row.timezone)}."
    configured = [spec for spec in in_force if spec.channel == channel]
    if configured:
        spec = configured[0]
        return f"<#{channel}> gets a digest on `{spec.cron}` ({spec.timezone}), from the config."
    return f"No digest in <#{channel}> yet. Set one with `/ops digest daily 09:00`."


async def activity_command(
    rt: FeatureContext, args: list[str], user: str, channel: str, admins: list[str]
) -> str:
    word = args[0].lower() if args else "status"
    if word not in ("on", "off", "status") or len(args) > 1:
        raise UsageError(f"`activity {' '.join(args)}` is not an option; use on or off.")
    _require_channel(channel)
    retention = activity_retention(rt.settings).days
    async with transaction(rt.sessions) as session:
        if word == "off":
            removed = await activity.opt_out(session, channel, user)
            return (
                f"I no longer store activity in <#{channel}>, and forgot the {removed} "
                "message(s) I had. Digests here will not count messages."
            )
        current = await session.get(ActivityOptOut, channel)
        if word == "status":
            if current is not None:
                return f"Activity in <#{channel}> is not stored (off since <@{current.by_user}>)."
            kept = await activity.stored_count(session, channel)
            return (
                f"Activity in <#{channel}> is stored: {kept} message(s), "
                f"their text for {retention} days."
            )
        if current is not None and user not in admins and user != current.by_user:
            return f"Only <@{current.by_user}> (who turned it off) or an admin can turn it on."
        await activity.opt_in(session, channel)
    return f"I store activity in <#{channel}> again (text for {retention} days) for its digests."
