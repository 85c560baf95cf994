"""Code red settings, read once from the config, plus levels, names and small helpers (pure)."""

from __future__ import annotations

import datetime as dt
import re
import unicodedata
from dataclasses import dataclass
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from bot.codered.settings import SECTION as CODERED
from bot.config import Settings
from bot.core.dates import parse_weekday
from bot.standups.service import holidays as standup_holidays

LEVELS = ("yellow", "orange", "red")  # from the mildest up
EMOJI = {
    "red": ":red_circle:",
    "orange": ":large_orange_circle:",
    "yellow": ":large_yellow_circle:",
}
HEADER_VIEW = "codered.header"
ANNOUNCE_VIEW = "codered.announce"
RETRO_VIEW = "codered.retro"
NOTICE_VIEW = "codered.notice"
TASK_OPEN_CHANNEL = "codered.open_channel"
TASK_INVITE = "codered.invite"

CHECKIN_QUESTIONS = [
    "What did you move forward on the code red since the last check-in?",
    "What will you do today?",
    "Anything blocking you?",
]


@dataclass(frozen=True)
class Options:
    admins: frozenset[str]
    declarers: frozenset[str]
    announce_channel: str | None
    spans: tuple[str, ...]  # the other workspaces its announcements go to
    checkin_days: dict[str, tuple[int, ...]]
    call_levels: frozenset[str]
    checkin_minute: int
    reminder_minutes: int
    cutoff_minutes: int
    call_minute: int
    max_level_days: dict[str, int]
    holidays: frozenset[dt.date]

    @classmethod
    def from_settings(cls, settings: Settings) -> Options:
        config = settings.section(CODERED)
        return cls(
            admins=frozenset(settings.here().admins),
            declarers=frozenset(config.declarers),
            announce_channel=config.announce_channel,
            spans=tuple(config.workspaces),
            checkin_days={
                level: tuple(sorted({parse_weekday(day) for day in days}))
                for level, days in config.checkin_days.items()
            },
            call_levels=frozenset(config.call_levels),
            checkin_minute=minutes(config.checkin_time),
            reminder_minutes=config.checkin_reminder_minutes,
            cutoff_minutes=config.checkin_cutoff_minutes,
            call_minute=minutes(config.call_time),
            max_level_days=dict(config.max_level_days.items()),
            holidays=standup_holidays(settings),
        )

    def days_for(self, level: str) -> tuple[int, ...]:
        return self.checkin_days.get(level) or (0, 1, 2, 3, 4)

    def can_declare(self, user: str) -> bool:
        return user in self.admins or user in self.declarers


def minutes(hhmm: str) -> int:
    hours, _, mins = hhmm.partition(":")
    return int(hours) * 60 + int(mins)


def check_level(text: str) -> str:
    level = text.strip().lower()
    if level not in LEVELS:
        raise ValueError(f"`{text}` is not a level; use red, orange or yellow")
    return level


def lower_level(level: str) -> str | None:
    index = LEVELS.index(level)
    return LEVELS[index - 1] if index > 0 else None


def slugify(text: str, limit: int = 40) -> str:
    plain = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    slug = re.sub(r"[^a-z0-9]+", "-", plain.lower()).strip("-")
    return (slug[:limit].rstrip("-") or "focus").lower()


def zone(name: str | None) -> ZoneInfo:
    try:
        return ZoneInfo(name or "UTC")
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")
