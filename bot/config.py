"""Settings: environment variables plus the YAML file named by OPSBOT_CONFIG.

Environment variables win over the file, so secrets can stay out of it; secrets can also come
from files (`<NAME>_FILE`, or the directory OPSBOT_SECRETS_DIR). Bad settings stop start-up
with one line each, naming the variable or the file and line, and what the setting must be.
Every field carries a description: `opsbot config-docs` turns them into docs/configuration.md.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Annotated, Any, Literal, TypeVar, cast

from pydantic import (
    BaseModel,
    Field,
    PrivateAttr,
    SecretStr,
    StringConstraints,
    ValidationError,
    create_model,
    field_validator,
)
from pydantic_settings import (
    BaseSettings,
    NoDecode,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
)

from bot.agents.settings import SECTION as AGENTS
from bot.agents.settings import AgentBackend as AgentBackend
from bot.ci.settings import SECTION as CI
from bot.ci.settings import CiRoute as CiRoute
from bot.codered.settings import SECTION as CODERED
from bot.config_sources import InitSource, Loc, build_sources, dotted, origin
from bot.config_sources import reveal as reveal  # readers of secrets import it from here
from bot.core import workspaces
from bot.core.settings import HttpUrlText, Section, SectionKey
from bot.core.token_cipher import keys_problem
from bot.digests.settings import SECTION as DIGESTS
from bot.features import modules_named
from bot.incidents.settings import SECTION as INCIDENTS
from bot.standups.settings import SECTION as STANDUPS

T = TypeVar("T")
# The bot scopes of manifest.yml (a test keeps them equal): what an OAuth install asks for.
BOT_SCOPES = (
    "app_mentions:read",
    "channels:history",
    "channels:join",
    "channels:manage",
    "channels:read",
    "chat:write",
    "commands",
    "files:write",
    "groups:history",
    "groups:read",
    "groups:write",
    "im:history",
    "im:write",
    "pins:read",
    "pins:write",
    "reactions:read",
    "reactions:write",
    "usergroups:read",
    "users:read",
    "users:read.email",
)


def _scope_list(value: Any) -> Any:
    """`chat:write,commands` (as Slack's own settings spell it) or a JSON/YAML list."""
    if isinstance(value, str):
        text = value.strip()
        if text.startswith("["):
            try:
                return json.loads(text)
            except ValueError:
                raise ValueError("must be a comma-separated list of scopes") from None
        return [scope.strip() for scope in text.split(",") if scope.strip()]
    return value


class RetentionSettings(Section):
    """How long the bot keeps rows it only needs for its own bookkeeping, in days.

    A task's raw payload (e.g. the Slack event it replays) is dropped as soon as the task is
    done; the row itself, and everything below, is deleted by the daily retention job.
    """

    uninstalled_days: float = Field(
        default=30,
        gt=0,
        description="days the records of a workspace that uninstalled the app are kept (a "
        "reinstall within them finds its incidents, standups and settings again); then all "
        "are deleted",
    )
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

    lease_seconds: float = Field(
        default=30.0, gt=0, description="how long a worker holds a task before others may take it"
    )
    task_sweep_seconds: float = Field(
        default=2.0, gt=0, description="how often workers look for due tasks without a wake-up"
    )
    task_concurrency: int = Field(
        default=32,
        ge=1,
        le=256,
        description="how many tasks one process runs at once (also the most completed in one"
        " transaction)",
    )
    projector_sweep_seconds: float = Field(
        default=5.0, gt=0, description="how often cards are checked for changes to push to Slack"
    )
    backoff_base: float = Field(
        default=1.0, gt=0, description="first retry delay of a failed task, in seconds"
    )
    pacer_speedup: float = Field(
        default=1.0, gt=0, description="divides Slack's rate-limit windows (for sandboxes)"
    )


class CoreSettings(BaseSettings):
    """The settings every feature shares; each feature's section is added to them (`Settings`)."""

    model_config = SettingsConfigDict(
        env_prefix="", case_sensitive=False, extra="forbid", env_nested_delimiter="__"
    )

    slack_bot_token: SecretStr | None = Field(
        default=None,
        description="the bot token (xoxb-...) of your Slack app, for one workspace; leave it "
        "unset when workspaces install the app by OAuth (SLACK_CLIENT_ID)",
    )
    slack_client_id: str | None = Field(
        default=None,
        description="your Slack app's client id (Basic Information): with SLACK_CLIENT_SECRET, "
        "workspaces install the app by OAuth at /slack/install instead of SLACK_BOT_TOKEN",
    )
    slack_client_secret: SecretStr | None = Field(
        default=None, description="your Slack app's client secret, for OAuth installs"
    )
    opsbot_token_key: SecretStr | None = Field(
        default=None,
        description="Fernet key(s), comma-separated, that encrypt the Slack tokens of OAuth "
        "installs in the database; the first encrypts, all decrypt (`opsbot token-key` makes "
        "one)",
    )
    slack_scopes: Annotated[list[str], NoDecode] = Field(
        default_factory=lambda: list(BOT_SCOPES),
        description="bot scopes an OAuth install asks for, comma-separated (default: the bot "
        "scopes of manifest.yml)",
    )
    slack_signing_secret: SecretStr | None = Field(
        default=None,
        description="your Slack app's signing secret, to verify requests to /slack/events",
    )
    slack_app_token: SecretStr | None = Field(
        default=None, description="app-level token (xapp-...) with connections:write, for socket"
    )
    slack_api_url: HttpUrlText = Field(
        default="https://slack.com/api/",
        description="Slack's Web API; `opsbot sandbox` prints one for its local stand-in",
    )
    database_url: str = Field(
        default="sqlite+aiosqlite:///./opsbot.db",
        repr=False,  # may hold a password
        json_schema_extra={"secret": True},
        description="sqlite:///path or postgresql://user:password@host/db",
    )
    opsbot_config: str | None = Field(
        default=None, description="path of the YAML configuration file (environment only)"
    )
    opsbot_secrets_dir: str | None = Field(
        default=None,
        description="directory with one file per setting, e.g. a mounted Kubernetes Secret "
        "(environment only)",
    )
    opsbot_public_url: HttpUrlText | None = Field(
        default=None,
        description="the bot's public base URL, for agents' push callbacks and, in OAuth "
        "mode, the redirect URI (this URL + /slack/oauth_redirect)",
    )
    github_webhook_secret: SecretStr | None = Field(
        default=None, description="secret of the GitHub webhook (POST /webhooks/github)"
    )
    gitlab_webhook_token: SecretStr | None = Field(
        default=None, description="token of the GitLab webhook (POST /webhooks/gitlab)"
    )
    buildkite_webhook_token: SecretStr | None = Field(
        default=None, description="token of the Buildkite webhook (POST /webhooks/buildkite)"
    )
    log_level: str = Field(default="INFO", description="DEBUG, INFO, WARNING or ERROR")
    log_format: Literal["json", "text"] = Field(
        default="text",
        description="json: one JSON object per line, for log collectors; text: for people",
    )
    opsbot_metrics_port: int | None = Field(
        default=None,
        ge=1,
        le=65535,
        description="when set, /metrics is served on this port only, not on the public one",
    )

    admins: list[str] = Field(
        default_factory=list, description="user ids who may declare code red, change any record"
    )
    activity_retention_days: float = Field(
        default=30, gt=0, description="days message text is kept for digests"
    )
    membership_ttl_seconds: float = Field(
        default=60, gt=0, description="how long Slack's answer on channel membership is trusted"
    )
    shutdown_grace_seconds: float = Field(
        default=20,
        ge=0,
        description="on SIGTERM, how long running tasks and card syncs may finish before their "
        "leases are given back to other replicas",
    )
    retention: RetentionSettings = Field(
        default_factory=RetentionSettings, description="bookkeeping retention"
    )
    tuning: TuningConfig = Field(default_factory=TuningConfig, description="worker timings")

    @field_validator("database_url")
    @classmethod
    def _known_database(cls, value: str) -> str:
        from sqlalchemy.engine import make_url
        from sqlalchemy.exc import ArgumentError

        if not value.split(":", 1)[0].startswith(("sqlite", "postgres")):
            raise ValueError("must be a sqlite:/// or postgresql:// URL")
        try:
            make_url(value)
        except (ArgumentError, ValueError):  # ValueError: a port that is not a number
            message = "must be a sqlite:/// or postgresql:// URL (cannot parse it)"
            raise ValueError(message) from None
        return value

    @field_validator("slack_bot_token")
    @classmethod
    def _bot_token_shape(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and not value.get_secret_value().startswith("xoxb-"):
            raise ValueError("must be a bot token starting with xoxb-")
        return value

    @field_validator("slack_scopes", mode="before")
    @classmethod
    def _scopes_as_list(cls, value: Any) -> Any:
        return _scope_list(value)

    @property
    def oauth_enabled(self) -> bool:
        """Workspaces install the app by OAuth: the client id and secret are both set."""
        return bool(self.slack_client_id and self.slack_client_secret)

    @field_validator("slack_app_token")
    @classmethod
    def _app_token_shape(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and not value.get_secret_value().startswith("xapp-"):
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
        # A bare Settings() (Alembic's env.py) stops at the first unreadable source;
        # load_settings() builds the same sources to report every problem at once.
        return build_sources(settings_cls, init_settings, file_secret_settings, strict=True)

    _teams: dict[str, CoreSettings] = PrivateAttr(default_factory=dict)

    def section(self, key: SectionKey[T], team: str | None = None) -> T:
        """A feature's section, as its `settings.SECTION` declares it, as the workspace `team`
        sees it (`workspaces:` overrides); without `team`, as the workspace the running work
        is within sees it (`bot.core.workspaces`), so every reader gets its workspace's."""
        chosen = self.for_team(team) if team is not None else self.here()
        return cast(T, getattr(chosen, key.name))

    def here(self) -> CoreSettings:
        """These settings as the workspace the running work is within sees them: its own
        overrides, else its Grid org's, else the defaults."""
        workspace = workspaces.current()
        if workspace is None:
            return self
        overridden = getattr(self, "workspaces", {})
        if workspace.team_id not in overridden and workspace.enterprise_id in overridden:
            return self.for_team(workspace.enterprise_id)
        return self.for_team(workspace.team_id)

    def workspace_values(self, team: str | None) -> dict[str, Any]:
        """What one workspace may override, as it is in force there (secrets masked)."""
        shown = {"admins", *(key.name for key in section_keys())}
        values: dict[str, Any] = self.for_team(team).model_dump(mode="json", include=shown)
        return values

    def for_team(self, team: str | None) -> CoreSettings:
        """These settings as one workspace sees them: the top-level keys are the defaults, and
        `workspaces: {T0123: {...}}` overrides any of `admins` and the feature sections; inside
        a section, the keys a workspace names replace the default's, the others are kept."""
        overrides: BaseModel | None = getattr(self, "workspaces", {}).get(team) if team else None
        if team is None or overrides is None:
            return self
        if team not in self._teams:
            self._teams[team] = self.model_copy(update=_effective(self, overrides))
        return self._teams[team]


def _effective(base: BaseModel, overrides: BaseModel) -> dict[str, Any]:
    """The top-level values a workspace's overrides change."""
    update: dict[str, Any] = {}
    for name in overrides.model_fields_set:
        value = getattr(overrides, name)
        default = getattr(base, name)
        if isinstance(value, BaseModel) and isinstance(default, BaseModel):
            named = {field: getattr(value, field) for field in value.model_fields_set}
            update[name] = default.model_copy(update=named)
        else:
            update[name] = value
    return update


# A workspace, or an Enterprise Grid org, as Slack names it.
TeamId = Annotated[str, StringConstraints(pattern=r"^[TE][A-Z0-9]{2,}$")]


def section_keys() -> list[SectionKey[Any]]:
    """Every feature's settings key, in FEATURES order."""
    return [module.SECTION for module in modules_named("settings")]


def _with_sections() -> type[CoreSettings]:
    keys = section_keys()
    sections = {key.name: key.field() for key in keys}
    overridable: dict[str, Any] = {
        "admins": (list[str] | None, Field(default=None, description="this workspace's admins"))
    }
    for key in keys:
        overridable[key.name] = (key.shape | None, Field(default=None, description=key.description))
    workspace = create_model(
        "WorkspaceSettings", __base__=Section, __module__=__name__, **overridable
    )
    workspaces: tuple[Any, Any] = (
        dict[TeamId, workspace],  # type: ignore[valid-type]
        Field(
            default_factory=dict,
            description="per workspace id (T0123...): overrides of `admins` and of any feature "
            "section's keys, for that workspace only",
        ),
    )
    fields: dict[str, Any] = {**sections, "workspaces": workspaces}
    composed: type[CoreSettings] = create_model(
        "Settings", __base__=CoreSettings, __module__=__name__, **fields
    )
    return composed


# Features are read through `section()`, so the checker needs only the shared fields.
if TYPE_CHECKING:
    Settings = CoreSettings
else:
    Settings = _with_sections()


class ConfigError(Exception):
    """Lines for the operator: which setting, from where, and what it must be."""

    def __init__(self, *lines: str) -> None:
        super().__init__("\n".join(lines))
        self.lines = lines


def _message(error: Any) -> str:
    message = str(error["msg"]).removeprefix("Value error, ")
    if error["type"] == "extra_forbidden":
        return "is not a known setting"
    if error["type"] == "missing":
        return "is required"
    if error["type"] == "string_pattern_mismatch":
        return f"must match {error['ctx']['pattern']} (got {error['input']!r})"
    return message.replace("Input should be", "must be")


def _describe(error: Any, sources: tuple[PydanticBaseSettingsSource, ...]) -> str:
    # Dict-key errors end in "[key]", union members add a tag: neither is a place to look.
    loc: Loc = tuple(p for p in error["loc"] if not (isinstance(p, str) and "[" in p))
    source = origin(sources, loc)
    subject = source.subject(loc) if source else f"setting {dotted(loc)}"
    return f"{subject}: {_message(error)}"


def load_settings(**overrides: Any) -> Settings:
    """Settings from every source, or a ConfigError listing every problem found."""
    from pydantic_settings import SecretsSettingsSource

    init = InitSource(Settings, overrides)
    sources = build_sources(Settings, init, SecretsSettingsSource(Settings), strict=False)
    settings: Settings | None = None
    invalid: list[str] = []
    try:
        # The sources built above, so their problems and what each read can be reported.
        settings = Settings(_build_sources=(sources, overrides))  # type: ignore[call-arg]
    except ValidationError as error:
        invalid = [_describe(detail, sources) for detail in error.errors()]
    unread = [line for source in sources for line in getattr(source, "problems", [])]
    if settings is not None:
        invalid += slack_mode_problems(settings)
    if unread or invalid or settings is None:
        raise ConfigError(*unread, *invalid)
    return settings


def slack_mode_problems(settings: Settings) -> list[str]:
    """How the bot meets Slack: one workspace by SLACK_BOT_TOKEN, or OAuth installs by
    SLACK_CLIENT_ID and SLACK_CLIENT_SECRET, never both (which token would speak for which
    workspace?). OAuth needs the public URL Slack redirects installers to."""
    has_id, has_secret = bool(settings.slack_client_id), bool(settings.slack_client_secret)
    if has_id != has_secret:
        missing, given = (
            ("SLACK_CLIENT_SECRET", "SLACK_CLIENT_ID")
            if has_id
            else ("SLACK_CLIENT_ID", "SLACK_CLIENT_SECRET")
        )
        return [f"setting {missing}: is required with {given} (OAuth installs need both)"]
    if not settings.oauth_enabled:
        return []
    problems = []
    if settings.slack_bot_token:
        problems.append(
            "setting SLACK_BOT_TOKEN: set either SLACK_BOT_TOKEN (one workspace) or "
            "SLACK_CLIENT_ID and SLACK_CLIENT_SECRET (workspaces install by OAuth), not both"
        )
    if not settings.opsbot_public_url:
        problems.append(
            "setting OPSBOT_PUBLIC_URL: is required for OAuth installs (Slack sends "
            "installers back to <OPSBOT_PUBLIC_URL>/slack/oauth_redirect)"
        )
    if not settings.slack_scopes:
        problems.append("setting SLACK_SCOPES: must name at least one bot scope")
    token_key = reveal(settings.opsbot_token_key)
    if token_key and (problem := keys_problem(token_key)):
        problems.append(f"setting OPSBOT_TOKEN_KEY: {problem}")
    for index, route in enumerate(settings.section(CI).routes):
        if route.team is None:  # whose token would post there?
            problems.append(
                f"setting ci.routes.{index}.team: is required for OAuth installs (the "
                "workspace, T..., whose channel the route posts to)"
            )
    return problems


def require_slack(settings: Settings, socket_mode: bool = False) -> None:
    """Serving needs real Slack credentials; say what is missing and where to go instead."""
    problems = slack_mode_problems(settings)
    if problems:
        raise ConfigError(*problems)
    if settings.oauth_enabled and socket_mode:
        raise ConfigError(
            "setting SLACK_CLIENT_ID: OAuth installs are served over HTTP (`opsbot serve`); "
            "Socket Mode runs with SLACK_BOT_TOKEN"
        )
    if not settings.slack_bot_token and not settings.oauth_enabled:
        raise ConfigError(
            "setting SLACK_BOT_TOKEN: must be the bot token (xoxb-...) of your Slack app "
            "(or set SLACK_CLIENT_ID and SLACK_CLIENT_SECRET for OAuth installs). "
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
    incidents, ci, codered = (
        settings.section(INCIDENTS),
        settings.section(CI),
        settings.section(CODERED),
    )
    backends = settings.section(AGENTS).backends
    lines = [
        f"database: {settings.database_url.split('@')[-1]}",
        f"slack api: {settings.slack_api_url}",
        "slack: "
        + (
            f"OAuth installs at {settings.opsbot_public_url}/slack/install "
            f"({len(settings.slack_scopes)} bot scopes)"
            if settings.oauth_enabled
            else "one workspace (SLACK_BOT_TOKEN)"
        ),
        f"admins: {len(settings.admins)}",
        f"incidents: announce in {incidents.announce_channel or '(no channel)'}, "
        f"severities {', '.join(incidents.severities)}",
        f"ci: {len(ci.routes)} route(s); webhooks: "
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
        f"code red: announce in {codered.announce_channel or '(no channel)'}, "
        f"{len(codered.declarers)} declarer(s)",
        f"standups: {len(settings.section(STANDUPS).holidays)} holiday(s)",
        f"agents: {', '.join(f'{b.name} ({b.kind})' for b in backends) or 'none'}",
        f"digests: {len(settings.section(DIGESTS))} scheduled",
    ]
    return lines
