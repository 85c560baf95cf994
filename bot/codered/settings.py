"""The code red section of the settings (`codered:`)."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from bot.core.settings import HHMM, SLACK_CHANNEL_ID, Section, SectionKey

Level = Literal["red", "orange", "yellow"]


def _default_checkin_days() -> dict[Level, list[str]]:
    return {
        "red": ["mon", "tue", "wed", "thu", "fri"],
        "orange": ["mon", "tue", "wed", "thu", "fri"],
        "yellow": ["mon", "thu"],
    }


def _default_call_levels() -> list[Level]:
    return ["red"]


def _default_max_level_days() -> dict[Level, int]:
    return {"red": 14, "orange": 28, "yellow": 56}


class CodeRedConfig(Section):
    announce_channel: str | None = Field(
        default=None,
        pattern=SLACK_CHANNEL_ID,
        description="channel id for company-wide announcements of levels and ends",
    )
    workspaces: list[str] = Field(
        default_factory=list,
        description="other workspaces (T...) a code red declared here spans: each one's own "
        "codered.announce_channel (a `workspaces:` override) gets its declaration, level "
        "changes and end, and each gets a war room with a copy of the header",
    )
    declarers: list[str] = Field(
        default_factory=list, description="user ids who may declare code red, besides admins"
    )
    checkin_days: dict[Level, list[str]] = Field(
        default_factory=_default_checkin_days,
        description="level -> check-in days (mon..sun)",
    )
    call_levels: list[Level] = Field(
        default_factory=_default_call_levels, description="levels that also get a daily call"
    )
    checkin_time: str = Field(default="10:00", pattern=HHMM, description="check-in time, HH:MM")
    checkin_reminder_minutes: int = Field(
        default=120, gt=0, le=720, description="minutes after check-in time to remind"
    )
    checkin_cutoff_minutes: int = Field(
        default=240, gt=0, le=720, description="minutes after check-in time to close it"
    )
    call_time: str = Field(default="16:00", pattern=HHMM, description="daily call time, HH:MM")
    max_level_days: dict[Level, int] = Field(
        default_factory=_default_max_level_days,
        description="level -> days after which the owner is asked to reconfirm it or step down",
    )


SECTION: SectionKey[CodeRedConfig] = SectionKey("codered", CodeRedConfig, CodeRedConfig, "code red")
