"""`/ops digest ...` and `/ops activity ...` text: parsing it (pure); bad input raises UsageError.

`bot.digests.workflows.commands` carries out what it asks for.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from bot.core import dates
from bot.core.commands import UsageError

USAGE_LINES: tuple[tuple[str, str], ...] = (
    ("digest", "show this channel's digest schedule"),
    ("digest daily HH:MM [time zone]", "post a digest here every day (your time zone by default)"),
    ("digest weekly <day> HH:MM [time zone]", "post a weekly digest here, with a four-week chart"),
    ("digest off", "stop digests in this channel, config-file ones included"),
    ("digest now", "post a digest of this channel now"),
    ("activity [on|off]", "count this channel's messages for digests, or stop and forget them"),
)
_TIME = re.compile(r"^([01]?\d|2[0-3])[:h]([0-5]\d)$")


@dataclass(frozen=True)
class DigestRequest:
    action: str  # status | set | off | now
    cadence: str = "daily"
    weekday: int | None = None
    minute_of_day: int = 9 * 60
    timezone: str | None = None


def parse_time(text: str) -> int:
    match = _TIME.match(text.strip().lower())
    if not match:
        raise UsageError(f"`{text}` is not a time of day; write it as HH:MM, e.g. `09:00`.")
    return int(match.group(1)) * 60 + int(match.group(2))


def parse_weekday(text: str) -> int:
    try:
        return dates.parse_weekday(text)
    except ValueError as error:
        raise UsageError(f"{error}.") from error


def parse_zone(text: str) -> str:
    try:
        ZoneInfo(text)
    except (ZoneInfoNotFoundError, ValueError):
        raise UsageError(f"`{text}` is not a time zone; use a name like `Europe/Paris`.") from None
    return text


def parse_digest(args: list[str]) -> DigestRequest:
    """`args` is what follows `digest`."""
    if not args:
        return DigestRequest("status")
    word, rest = args[0].lower(), args[1:]
    if word in ("off", "now") and not rest:
        return DigestRequest(word)
    if word == "daily" and len(rest) in (1, 2):
        zone = parse_zone(rest[1]) if len(rest) == 2 else None
        return DigestRequest("set", "daily", None, parse_time(rest[0]), zone)
    if word == "weekly" and len(rest) in (2, 3):
        zone = parse_zone(rest[2]) if len(rest) == 3 else None
        return DigestRequest("set", "weekly", parse_weekday(rest[0]), parse_time(rest[1]), zone)
    if word in ("daily", "weekly", "off", "now"):
        example = {"daily": "daily 09:00", "weekly": "weekly mon 09:00"}.get(word, word)
        raise UsageError(f"`digest {word}` is written `/ops digest {example}`.")
    raise UsageError(f"`{args[0]}` is not a digest option; use daily, weekly, off or now.")
