"""Settings: environment variables plus the YAML file named by OPSBOT_CONFIG.

Environment variables win over the file, so secrets can stay out of it. A bad setting stops
start-up with one line naming the setting and what it must be.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator
from pydantic.fields import FieldInfo
from pydantic_settings import (
    BaseSettings,
    EnvSettingsSource,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    SettingsError,
    YamlConfigSettingsSource,
)

SLACK_USER_ID = r"^[UW][A-Z0-9]{2,}$"
SLACK_CHANNEL_ID = r"^[CGD][A-Z0-9]{2,}$"


class Section(BaseModel):
    model_config = ConfigDict(extra="forbid")


class IncidentsConfig(Section):
    announce_channel: str | None = Field(default=None, pattern=SLACK_CHANNEL_ID)
    channel_prefix: str = Field(default="inc", pattern=r"^[a-z0-9][a-z0-9_-]{0,20}$")
    severities: list[str] = Field(default_factory=lambda: ["sev1", "sev2", "sev3"], min_length=1)
    statuses: list[str] = Field(
        default_factory=lambda: ["investigating", "identified", "mitigated", "resolved"]
    )
    roles: list[str] = Field(default_factory=lambda: ["commander", "communications", "scribe"])
    update_intervals_minutes: dict[str, int] = Field(
        default_factory=lambda: {"sev1": 30, "sev2": 60, "sev3": 240}
    )
    timeline_reaction: str = "pushpin"


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
    announce_channel: str | None = Field(default=None, pattern=SLACK_CHANNEL_ID)
    declarers: list[str] = Field(default_factory=list)
    # Check-in days per level (mon..sun); levels listed in call_levels also get a daily call.
    checkin_days: dict[Level, list[str]] = Field(default_factory=_default_checkin_days)
    call_levels: list[Level] = Field(default_factory=_default_call_levels)
    checkin_time: str = Field(default="10:00", pattern=r"^([01]\d|2[0-3]):[0-5]\d$")
    checkin_reminder_minutes: int = Field(default=120, gt=0, le=720)
    checkin_cutoff_minutes: int = Field(default=240, gt=0, le=720)
    call_time: str = Field(default="16:00", pattern=r"^([01]\d|2[0-3]):[0-5]\d$")
    # After this many days at one level the owner is asked to reconfirm it or step down.
    max_level_days: dict[Level, int] = Field(default_factory=_default_max_level_days)


class StandupsConfig(Section):
    holidays: list[str] = Field(default_factory=list)
    # How long a cached Slack time zone is trusted before users.info is asked again.
    timezone_refresh_hours: float = Field(default=24.0, gt=0)

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


class CiRoute(Section):
    repo: str = Field(pattern=r"^[\w.*?\[\]-]+/[\w.*?\[\]-]+$|^\*$")  # globs allowed
    branches: list[str] = Field(default_factory=list)
    channel: str = Field(pattern=SLACK_CHANNEL_ID)
    owners: list[str] = Field(default_factory=list)


class CiConfig(Section):
    routes: list[CiRoute] = Field(default_factory=list)
    still_red_hours: float = Field(default=4.0, gt=0)
    github_token: str | None = None
    authors: dict[str, str] = Field(default_factory=dict)


class AgentBackend(Section):
    name: str = Field(pattern=r"^[\w.-]{1,40}$")
    # A kind is a module in bot/agents/backends/ (a2a, command, ...): a new kind is a new module.
    kind: str = Field(pattern=r"^[a-z][a-z0-9_]{0,30}$")
    url: str | None = None
    command: list[str] | None = None
    token: str | None = None

    @field_validator("kind")
    @classmethod
    def _known_kind(cls, value: str) -> str:
        from importlib.util import find_spec

        if value in ("base", "registry") or find_spec(f"bot.agents.backends.{value}") is None:
            raise ValueError(f"must name an agent backend kind, e.g. a2a or command ({value!r})")
        return value


class AgentsConfig(Section):
    backends: list[AgentBackend] = Field(default_factory=list)
    # User ids (U...) and user group ids (S...); empty means everyone in the workspace.
    allowed_users: list[str] = Field(default_factory=list)
    repos: dict[str, str] = Field(default_factory=dict)
    max_messages: int = Field(default=50, gt=0)
    max_chars: int = Field(default=20000, gt=0)
    # Local clones for the command backend: repository (owner/name) -> path.
    checkouts: dict[str, str] = Field(default_factory=dict)
    worktree_root: str | None = None
    github_token: str | None = None
    github_api_url: str = "https://api.github.com"
    retries: int = Field(default=3, ge=1, le=20)
    retry_seconds: float = Field(default=2.0, ge=0)
    attempt_timeout_minutes: float = Field(default=60.0, gt=0)
    recover_seconds: float = Field(default=15.0, gt=0)


class DigestConfig(Section):
    channel: str = Field(pattern=SLACK_CHANNEL_ID)
    cron: str
    timezone: str = "UTC"
    # A digest with nothing to say is skipped unless this is set.
    post_empty: bool = False
    # A question with no answer from anyone else this long after it was asked is listed.
    unanswered_hours: float = Field(default=4.0, gt=0, le=168)

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


class RetentionSettings(Section):
    """How long the bot keeps rows it only needs for its own bookkeeping, in days.

    A task's raw payload (e.g. the Slack event it replays) is dropped as soon as the task is
    done; the row itself, and everything below, is deleted by the daily retention job.
    """

    tasks_days: float = Field(
        default=7, gt=0, description="days a done task (already without payload) is kept"
    )
    dead_tasks_days: float = Field(
        default=30,
        gt=0,
        description="days a dead task is kept, payload included, for `opsbot tasks list --dead`",
    )
    job_firings_days: float = Field(
        default=7, gt=0, description="days a scheduled job's once-per-firing claim row is kept"
    )
    ledger_days: float = Field(
        default=7,
        gt=0,
        description="days a delivery id is remembered to drop redeliveries (Slack retries "
        "within minutes)",
    )


class TuningConfig(Section):
    """Worker timings. The defaults suit production; tests and drills shorten them."""

    lease_seconds: float = Field(default=30.0, gt=0)
    task_sweep_seconds: float = Field(default=2.0, gt=0)
    projector_sweep_seconds: float = Field(default=5.0, gt=0)
    backoff_base: float = Field(default=1.0, gt=0)
    pacer_speedup: float = Field(default=1.0, gt=0)


class EnvironmentSource(EnvSettingsSource):
    """Environment variables, except that a bare variable only fills a section when it holds a
    JSON object: `CI=true`, which every CI system sets, is not the `ci` section. Nested
    variables (`CI__STILL_RED_HOURS=2`) work as usual."""

    def get_field_value(self, field: FieldInfo, field_name: str) -> tuple[Any, str, bool]:
        value, key, is_complex = super().get_field_value(field, field_name)
        section = isinstance(field.annotation, type) and issubclass(field.annotation, BaseModel)
        if section and isinstance(value, str) and not value.lstrip().startswith("{"):
            return None, key, is_complex
        return value, key, is_complex


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="", case_sensitive=False, extra="forbid", env_nested_delimiter="__"
    )

    slack_bot_token: str | None = None
    slack_signing_secret: str | None = None
    slack_app_token: str | None = None
    slack_api_url: str = "https://slack.com/api/"
    database_url: str = "sqlite+aiosqlite:///./opsbot.db"
    opsbot_config: str | None = None
    opsbot_public_url: str | None = None
    github_webhook_secret: str | None = None
    gitlab_webhook_token: str | None = None
    buildkite_webhook_token: str | None = None
    log_level: str = "INFO"
    # "json": one JSON object per line, for log collectors; "text" for people at a terminal.
    log_format: Literal["json", "text"] = "text"
    # When set, /metrics is served on this port only, and no longer on the public one.
    opsbot_metrics_port: int | None = Field(default=None, ge=1, le=65535)

    admins: list[str] = Field(default_factory=list)
    incidents: IncidentsConfig = Field(default_factory=IncidentsConfig)
    codered: CodeRedConfig = Field(default_factory=CodeRedConfig)
    standups: StandupsConfig = Field(default_factory=StandupsConfig)
    ci: CiConfig = Field(default_factory=CiConfig)
    agents: AgentsConfig = Field(default_factory=AgentsConfig)
    digests: list[DigestConfig] = Field(default_factory=list)
    activity_retention_days: float = Field(default=30, gt=0)
    membership_ttl_seconds: float = Field(
        default=60, gt=0, description="how long Slack's answer on channel membership is trusted"
    )
    shutdown_grace_seconds: float = Field(
        default=20,
        ge=0,
        description="on SIGTERM, how long running tasks and card syncs may finish before their "
        "leases are given back to other replicas",
    )
    retention: RetentionSettings = Field(default_factory=RetentionSettings)
    tuning: TuningConfig = Field(default_factory=TuningConfig)

    @field_validator("database_url")
    @classmethod
    def _known_database(cls, value: str) -> str:
        if not value.split(":", 1)[0].startswith(("sqlite", "postgres")):
            raise ValueError("must be a sqlite:/// or postgresql:// URL")
        return value

    @field_validator("slack_bot_token")
    @classmethod
    def _bot_token_shape(cls, value: str | None) -> str | None:
        if value is not None and not value.startswith("xoxb-"):
            raise ValueError("must be a bot token starting with xoxb-")
        return value

    @field_validator("slack_app_token")
    @classmethod
    def _app_token_shape(cls, value: str | None) -> str | None:
        if value is not None and not value.startswith("xapp-"):
            raise ValueError("must be an app-level token starting with xapp-")
        return value

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        path = os.environ.get("OPSBOT_CONFIG")
        sources: list[PydanticBaseSettingsSource] = [init_settings, EnvironmentSource(settings_cls)]
        if path:
            sources.append(YamlConfigSettingsSource(settings_cls, yaml_file=path))
        return tuple(sources)


class ConfigError(Exception):
    """One line for the operator: which setting, and what it must be."""


def _describe(error: ValidationError) -> str:
    first = error.errors()[0]
    location = ".".join(str(part) for part in first["loc"]) or "config"
    if len(first["loc"]) == 1 and first["loc"][0] in Settings.model_fields:
        location = str(first["loc"][0]).upper()
    message = first["msg"].removeprefix("Value error, ")
    if first["type"] == "extra_forbidden":
        message = "is not a known setting"
    elif first["type"] == "string_pattern_mismatch":
        message = f"must match {first['ctx']['pattern']} (got {first['input']!r})"
    return f"setting {location}: {message}"


def _check_file(path: str | None) -> None:
    if not path:
        return
    file = Path(path)
    if not file.is_file():
        raise ConfigError(f"setting OPSBOT_CONFIG: must name a readable YAML file ({path})")
    try:
        content = yaml.safe_load(file.read_text())
    except yaml.YAMLError as error:
        raise ConfigError(f"setting OPSBOT_CONFIG: {path} is not valid YAML ({error})") from None
    if content is not None and not isinstance(content, dict):
        raise ConfigError(f"setting OPSBOT_CONFIG: {path} must hold a mapping of settings")


def load_settings(**overrides: Any) -> Settings:
    _check_file(os.environ.get("OPSBOT_CONFIG"))
    try:
        return Settings(**overrides)
    except ValidationError as error:
        raise ConfigError(_describe(error)) from None
    except SettingsError as error:  # e.g. a section given as malformed JSON in the environment
        field = str(error).split('"')[1] if '"' in str(error) else "environment"
        raise ConfigError(f"setting {field.upper()}: must be a JSON object") from None


def require_slack(settings: Settings, socket_mode: bool = False) -> None:
    """Serving needs real Slack credentials; say what is missing and where to go instead."""
    if not settings.slack_bot_token:
        raise ConfigError(
            "setting SLACK_BOT_TOKEN: must be the bot token (xoxb-...) of your Slack app. "
            "To try opsbot without Slack, run `opsbot demo`."
        )
    if socket_mode and not settings.slack_app_token:
        raise ConfigError(
            "setting SLACK_APP_TOKEN: must be an app-level token (xapp-...) "
            "with connections:write for Socket Mode"
        )
    if not socket_mode and not settings.slack_signing_secret:
        raise ConfigError(
            "setting SLACK_SIGNING_SECRET: must be your app's signing secret "
            "(Basic Information page) so requests from Slack can be verified"
        )


def enabled_features(settings: Settings) -> list[str]:
    """What `opsbot check` reports as switched on by this configuration."""
    lines = [
        f"database: {settings.database_url.split('@')[-1]}",
        f"slack api: {settings.slack_api_url}",
        f"admins: {len(settings.admins)}",
        f"incidents: announce in {settings.incidents.announce_channel or '(no channel)'}, "
        f"severities {', '.join(settings.incidents.severities)}",
        f"ci: {len(settings.ci.routes)} route(s); webhooks: "
        + (
            ", ".join(
                name
                for name, secret in (
                    ("github", settings.github_webhook_secret),
                    ("gitlab", settings.gitlab_webhook_token),
                    ("buildkite", settings.buildkite_webhook_token),
                )
                if secret
            )
            or "none"
        ),
        f"code red: announce in {settings.codered.announce_channel or '(no channel)'}, "
        f"{len(settings.codered.declarers)} declarer(s)",
        f"standups: {len(settings.standups.holidays)} holiday(s)",
        f"agents: {', '.join(f'{b.name} ({b.kind})' for b in settings.agents.backends) or 'none'}",
        f"digests: {len(settings.digests)} scheduled",
    ]
    return lines
