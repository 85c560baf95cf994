"""The one way people write a day in commands: ISO dates, today, tomorrow, +N days, a weekday."""

from __future__ import annotations

import datetime as dt
import re

WEEKDAY_NAMES = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
# The short names schedules are shown with (and the shortest a weekday may be written).
WEEKDAYS = tuple(name[:3] for name in WEEKDAY_NAMES)
_IN_DAYS = re.compile(r"\+(\d{1,3})d?")


def weekday_index(word: str) -> int | None:
    """Monday is 0. A weekday is its name or a start of it, three letters at least ("mon",
    "tues", "wednesday"); other words that merely begin the same way ("monkey") are not."""
    word = word.strip().lower()
    if len(word) < 3:
        return None
    return next((i for i, name in enumerate(WEEKDAY_NAMES) if name.startswith(word)), None)


def parse_weekday(word: str) -> int:
    """`weekday_index`, refusing anything else with a message that says what to write."""
    index = weekday_index(word)
    if index is None:
        raise ValueError(f"`{word.strip()}` is not a day of the week (mon, tue, ... sun)")
    return index


def parse_day(text: str, today: dt.date) -> dt.date:
    """A day as people write it; a weekday means the next one (a week ahead if it is today)."""
    word = text.strip().lower()
    if word in ("today", "tomorrow"):
        return today + dt.timedelta(days=0 if word == "today" else 1)
    if match := _IN_DAYS.fullmatch(word):
        return today + dt.timedelta(days=int(match.group(1)))
    weekday = weekday_index(word)
    if weekday is not None:
        return today + dt.timedelta(days=(weekday - today.weekday()) % 7 or 7)
    try:
        return dt.date.fromisoformat(word)
    except ValueError:
        raise ValueError(
            f"`{text}` is not a date; write YYYY-MM-DD, today, tomorrow, a weekday or +N days"
        ) from None
