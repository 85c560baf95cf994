"""The CI section of the settings (`ci:`): routes from repositories to channels."""

from __future__ import annotations

from pydantic import Field, SecretStr

from bot.core.settings import SLACK_CHANNEL_ID, HttpUrlText, Section, SectionKey


class CiRoute(Section):
    repo: str = Field(
        pattern=r"^[\w.*?\[\]-]+/[\w.*?\[\]-]+$|^\*$",
        description="owner/name of the repository; globs allowed (`octo-org/*`, `*`)",
    )
    branches: list[str] = Field(
        default_factory=list, description="branches reported; empty means every branch"
    )
    channel: str = Field(pattern=SLACK_CHANNEL_ID, description="channel id for the route's cards")
    team: str | None = Field(
        default=None,
        pattern=r"^[TE][A-Z0-9]{2,31}$",
        description="the workspace (T...) of the route's channel; routes of one repository to "
        "channels in several workspaces post a card in each, from one breakage",
    )
    owners: list[str] = Field(
        default_factory=list,
        description="user ids mentioned when a breakage stays red past ci.still_red_hours",
    )


class CiConfig(Section):
    routes: list[CiRoute] = Field(
        default_factory=list, description="which repository and branch goes to which channel"
    )
    still_red_hours: float = Field(
        default=4.0, gt=0, description="hours red before route owners are mentioned"
    )
    github_token: SecretStr | None = Field(
        default=None,
        description="GitHub token to list a breakage's suspects and, for the agents asked "
        "to fix it, its failing jobs, logs and diff (actions:read, contents:read)",
    )
    github_api_url: HttpUrlText = Field(
        default="https://api.github.com",
        description="GitHub's API for suspects, jobs and logs (GitHub Enterprise: "
        "https://host/api/v3)",
    )
    fix_attempts: int = Field(
        default=2,
        ge=1,
        le=4,
        description='attempts prefilled in the form a breakage card\'s "Ask agents to fix" '
        "button opens",
    )
    fix_backend: str | None = Field(
        default=None,
        description="the agent backend prefilled in that form (default: the first)",
    )
    fix_log_lines: int = Field(
        default=80, ge=5, le=1000, description="lines of each failing job's log the agents see"
    )
    fix_max_chars: int = Field(
        default=30000, ge=2000, description="most characters of breakage sent to the agents"
    )
    authors: dict[str, str] = Field(
        default_factory=dict,
        description="commit author (email, GitHub login or name) -> Slack user id",
    )


SECTION: SectionKey[CiConfig] = SectionKey("ci", CiConfig, CiConfig, "CI breakages")
