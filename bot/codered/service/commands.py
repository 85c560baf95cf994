"""`/codered` text: parsing it (pure).

The listener in `bot.codered.handlers` carries out each subcommand with `run`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from bot.codered.service.options import check_level
from bot.core.commands import Usage, UsageError, split_args

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


__all__ = ["USAGE", "Parsed", "parse"]
