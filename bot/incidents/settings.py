"""The incidents section of the settings (`incidents:`)."""

from __future__ import annotations

from pydantic import Field

from bot.core.settings import SLACK_CHANNEL_ID, Section, SectionKey


class IncidentsConfig(Section):
    announce_channel: str | None = Field(
        default=None,
        pattern=SLACK_CHANNEL_ID,
        description="channel id where new incidents are announced",
    )
    channel_prefix: str = Field(
        default="inc",
        pattern=r"^[a-z0-9][a-z0-9_-]{0,20}$",
        description="prefix of each incident's own channel name",
    )
    severities: list[str] = Field(
        default_factory=lambda: ["sev1", "sev2", "sev3"],
        min_length=1,
        description="severity names, most severe first",
    )
    statuses: list[str] = Field(
        default_factory=lambda: ["investigating", "identified", "mitigated", "resolved"],
        description="status names; a new incident starts in the first",
    )
    roles: list[str] = Field(
        default_factory=lambda: ["commander", "communications", "scribe"],
        description="roles people can take in an incident",
    )
    update_intervals_minutes: dict[str, int] = Field(
        default_factory=lambda: {"sev1": 30, "sev2": 60, "sev3": 240},
        description="severity -> minutes between reminders to post a status update",
    )
    timeline_reaction: str = Field(
        default="pushpin",
        description="emoji name whose reaction adds a message to the incident timeline",
    )


SECTION: SectionKey[IncidentsConfig] = SectionKey(
    "incidents", IncidentsConfig, IncidentsConfig, "incidents"
)
