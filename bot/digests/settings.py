"""One scheduled digest in the settings (`digests:` is a list of them)."""

from __future__ import annotations

from pydantic import Field, field_validator

from bot.core.settings import SLACK_CHANNEL_ID, Section, SectionKey


class DigestConfig(Section):
    channel: str = Field(pattern=SLACK_CHANNEL_ID, description="channel id the digest goes to")
    cron: str = Field(description="5-field crontab, e.g. `0 9 * * mon-fri`")
    timezone: str = Field(default="UTC", description="IANA time zone of `cron`")
    post_empty: bool = Field(
        default=False, description="post a digest with nothing to say instead of skipping it"
    )
    unanswered_hours: float = Field(
        default=4.0,
        gt=0,
        le=168,
        description="a question with no answer from anyone else this long after is listed",
    )

    @field_validator("timezone")
    @classmethod
    def _zone_exists(cls, value: str) -> str:
        from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            message = f"must be an IANA time zone such as Europe/Paris (got {value!r})"
            raise ValueError(message) from None
        return value

    @field_validator("cron")
    @classmethod
    def _cron_parses(cls, value: str) -> str:
        from apscheduler.triggers.cron import CronTrigger

        try:
            CronTrigger.from_crontab(value)
        except ValueError as error:
            raise ValueError(f"must be a 5-field crontab ({error})") from None
        return value


SECTION: SectionKey[list[DigestConfig]] = SectionKey(
    "digests", list[DigestConfig], list, "scheduled channel digests"
)
