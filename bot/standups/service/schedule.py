"""Pure time arithmetic for standups: times of day, week days, zones, dates people type.

Everything is computed from a local date and a zone with zoneinfo, so a 09:00 prompt stays at
09:00 on the wall clock across daylight-saving changes.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from bot.core.dates import WEEKDAYS, parse_day, parse_weekday

BUSINESS_DAYS = (0, 1, 2, 3, 4)
_TIME = re.compile(r"^(\d{1,2})[:h.](\d{2})$")
MAX_SKIP_DAYS = 62


def parse_time(text: str) -> int:
    """'09:30' -> minutes after midnight; refuses 25:00 and other impossible times."""
    match = _TIME.match(text.strip())
    if not match:
        raise ValueError(f"`{text}` is not a time; write it as HH:MM, e.g. 09:30")
    hours, minutes = int(match.group(1)), int(match.group(2))
    if hours > 23 or minutes > 59:
        raise ValueError(f"`{text}` is not a time of day; use 00:00 to 23:59")
    return hours * 60 + minutes


def time_text(minute_of_day: int) -> str:
    return f"{minute_of_day // 60:02d}:{minute_of_day % 60:02d}"


def parse_days(text: str) -> tuple[int, ...]:
    """'mon-fri', 'mon,thu', 'weekdays', 'daily' -> sorted weekday numbers (Monday is 0)."""
    words = text.strip().lower().replace(" ", ",")
    if words in ("weekdays", "business", "workdays"):
        return BUSINESS_DAYS
    if words in ("daily", "everyday", "all"):
        return tuple(range(7))
    days: set[int] = set()
    for part in filter(None, words.split(",")):
        start, _, end = part.partition("-")
        first, last = parse_weekday(start), parse_weekday(end or start)
        span = range(first, last + 1) if first <= last else [*range(first, 7), *range(last + 1)]
        days.update(span)
    if not days:
        raise ValueError("name at least one day, e.g. mon-fri or mon,thu")
    return tuple(sorted(days))


def days_to_column(days: tuple[int, ...] | list[int]) -> str:
    return ",".join(str(day) for day in sorted(set(days)))


def days_from_column(value: str) -> tuple[int, ...]:
    return tuple(int(part) for part in value.split(",") if part.strip())


def days_text(days: tuple[int, ...]) -> str:
    if tuple(days) == tuple(range(7)):
        return "every day"
    if tuple(days) == BUSINESS_DAYS:
        return "Mon–Fri"
    return ", ".join(WEEKDAYS[day].title() for day in days)


def check_zone(name: str) -> str:
    """The zone name if zoneinfo knows it; a clear error otherwise."""
    cleaned = name.strip()
    try:
        if not cleaned or cleaned.startswith(("/", ".")) or ".." in cleaned:
            raise ZoneInfoNotFoundError(cleaned)
        ZoneInfo(cleaned)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(
            f"`{name}` is not a time zone I know; use a name like Europe/Paris or UTC"
        ) from None
    return cleaned


def zone(name: str | None) -> ZoneInfo | None:
    if not name:
        return None
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return None


@dataclass(frozen=True)
class Moments:
    """When a person's standup day starts, is reminded, and closes (UTC)."""

    prompt_at: dt.datetime
    reminder_at: dt.datetime
    cutoff_at: dt.datetime


def moments(
    run_date: dt.date, minute_of_day: int, tz: ZoneInfo, reminder_minutes: int, cutoff_minutes: int
) -> Moments:
    local = dt.datetime.combine(run_date, dt.time(minute_of_day // 60, minute_of_day % 60), tz)
    prompt_at = local.astimezone(dt.UTC)
    return Moments(
        prompt_at=prompt_at,
        reminder_at=prompt_at + dt.timedelta(minutes=reminder_minutes),
        cutoff_at=prompt_at + dt.timedelta(minutes=cutoff_minutes),
    )


def local_date(now: dt.datetime, tz: ZoneInfo) -> dt.date:
    return now.astimezone(tz).date()


def candidate_dates(now: dt.datetime, tz: ZoneInfo) -> list[dt.date]:
    """Local days whose standup may still be open now (a cutoff can run past midnight)."""
    today = local_date(now, tz)
    return [today - dt.timedelta(days=1), today]


def parse_dates(words: list[str], today: dt.date) -> list[dt.date]:
    """Dates and ranges (`2026-03-02..2026-03-06`) for `/standup skip`."""
    days: set[dt.date] = set()
    for word in words:
        start_text, dots, end_text = word.partition("..")
        start = parse_day(start_text, today)
        end = parse_day(end_text, today) if dots else start
        if end < start:
            raise ValueError(f"`{word}` ends before it starts")
        if (end - start).days >= MAX_SKIP_DAYS:
            raise ValueError(f"`{word}` is longer than {MAX_SKIP_DAYS} days")
        days.update(start + dt.timedelta(days=n) for n in range((end - start).days + 1))
    if not days:
        raise ValueError("name the days to skip, e.g. `2026-03-02` or `2026-03-02..2026-03-06`")
    return sorted(days)


def holiday_set(holidays: list[str]) -> frozenset[dt.date]:
    return frozenset(dt.date.fromisoformat(day) for day in holidays)
