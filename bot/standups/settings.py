"""The standups section of the settings (`standups:`)."""

from __future__ import annotations

from pydantic import Field, field_validator

from bot.core.settings import Section, SectionKey


class StandupsConfig(Section):
    holidays: list[str] = Field(
        default_factory=list, description="YYYY-MM-DD dates with no standup"
    )
    timezone_refresh_hours: float = Field(
        default=24.0,
        gt=0,
        description="how long a cached Slack time zone is trusted before users.info is asked again",
    )

    @field_validator("holidays")
    @classmethod
    def _holidays_are_dates(cls, value: list[str]) -> list[str]:
        import datetime as dt

        for day in value:
            try:
                dt.date.fromisoformat(day)
            except ValueError:
                raise ValueError(f"holidays must be YYYY-MM-DD dates (got {day!r})") from None
        return value


SECTION: SectionKey[StandupsConfig] = SectionKey(
    "standups", StandupsConfig, StandupsConfig, "standups"
)
