"""`/codered` text: parsing it (pure), and carrying out each subcommand on the database."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession

from bot.codered import loans, service
from bot.codered.models import CodeRed
from bot.codered.options import EMOJI, Options, check_level
from bot.codered.timeline import CodeRedError, local_today
from bot.core.commands import Usage, UsageError, split_args
from bot.core.dates import parse_day
from bot.core.db import utcnow
from bot.core.security import inert

USAGE = Usage(
    command="/codered",
    summary="run a code red: one focus above everything, with a war room and daily check-ins",
    lines=(
        ("declare", "open the form to declare a code red (admins and declarers)"),
        ("status", "where the code red stands"),
        ("level <red|orange|yellow> <reason>", "change the level (owner, admins, declarers)"),
        ("loan @person [until <date>]", "move someone onto the code red for a while"),
        ("return @person", "end a loan now"),
        ("pause <initiative> [@owner]", "register work paused for the code red"),
        ("resolve <summary>", "end it: announcement, retro, owners asked to resume"),
        ("help", "this help"),
    ),
)
_USER = re.compile(r"^<@([UW][A-Z0-9]+)(?:\|[^>]*)?>$")


@dataclass(frozen=True)
class Parsed:
    verb: str  # declare | status | level | loan | return | pause | resolve
    text: str = ""
    user: str | None = None
    level: str | None = None
    until: str | None = None


def _user(word: str) -> str | None:
    match = _USER.match(word)
    return match.group(1) if match else None


def parse(text: str) -> Parsed:
    words = split_args(text)
    verb, rest = words[0].lower(), words[1:]
    if verb in ("declare", "status"):
        return Parsed(verb)
    if verb == "level":
        if not rest:
            raise UsageError("Say which level: red, orange or yellow, and why.")
        try:
            level = check_level(rest[0])
        except ValueError as problem:
            raise UsageError(str(problem)) from None
        if len(rest) < 2:
            raise UsageError("Say why the level changes: `/codered level orange <reason>`.")
        return Parsed("level", " ".join(rest[1:]), level=level)
    if verb in ("loan", "return"):
        user = _user(rest[0]) if rest else None
        if user is None:
            raise UsageError(f"Name the person: `/codered {verb} @person`.")
        until = None
        if verb == "loan" and len(rest) > 1:
            if rest[1].lower() != "until" or len(rest) != 3:
                raise UsageError("Write the end as `until <date>`, e.g. `until 2026-03-20`.")
            until = rest[2]
        elif len(rest) > 1:
            raise UsageError(f"`/codered {verb}` takes one person.")
        return Parsed(verb, user=user, until=until)
    if verb == "pause":
        owner = _user(rest[-1]) if rest else None
        initiative = " ".join(rest[:-1] if owner else rest)
        if not initiative:
            raise UsageError("Name the initiative: `/codered pause <initiative> [@owner]`.")
        return Parsed("pause", initiative, user=owner)
    if verb == "resolve":
        if not rest:
            raise UsageError("Give a short summary: `/codered resolve <summary>`.")
        return Parsed("resolve", " ".join(rest))
    raise UsageError(f"I don't know `/codered {words[0]}`.")


async def run(
    session: AsyncSession,
    opts: Options,
    parsed: Parsed,
    actor: str,
    now: dt.datetime | None = None,
) -> str:
    """Carry out a subcommand other than `declare` (which opens the modal)."""
    now = now or utcnow()
    codered = await service.require_active(session)
    if parsed.verb == "status":
        return await status_text(session, codered)
    # Whether `actor` may change it was decided by the access policy at the gate.
    if parsed.verb == "level":
        assert parsed.level is not None
        await service.change_level(session, opts, codered, parsed.level, parsed.text, actor, now)
        return f"{EMOJI[parsed.level]} The code red is now {parsed.level}."
    if parsed.verb == "loan":
        assert parsed.user is not None
        until = None
        if parsed.until:
            try:
                until = parse_day(parsed.until, await local_today(session, parsed.user, now))
            except ValueError as problem:
                raise UsageError(str(problem)) from None
        row = await loans.loan(session, codered, parsed.user, until, actor, now)
        end = f"until {row.until_date:%a %d %b}" if row.until_date else "until the code red ends"
        return f"<@{parsed.user}> is on loan to the code red {end}."
    if parsed.verb == "return":
        assert parsed.user is not None
        await loans.return_loan(session, codered, parsed.user, actor, now)
        return f"<@{parsed.user}>'s loan has ended."
    if parsed.verb == "pause":
        await loans.pause(session, codered, parsed.text, parsed.user, actor, now)
        return f"Paused for the code red: {inert(parsed.text, 200)}."
    await service.resolve(session, codered, parsed.text, actor, now)
    return ":white_check_mark: The code red is resolved. The retro is in the war room."


async def status_text(session: AsyncSession, codered: CodeRed) -> str:
    room = f" War room <#{codered.channel_id}>." if codered.channel_id else ""
    people = await service.active_loans(session, codered.id)
    loaned = ", ".join(f"<@{row.user_id}>" for row in people) or "nobody"
    return (
        f"{EMOJI[codered.level]} *Code {codered.level}: {inert(codered.focus, 150)}*. "
        f"Owner <@{codered.owner_id}>.{room} On loan: {loaned}."
    )


__all__ = ["USAGE", "CodeRedError", "Parsed", "parse", "run"]
