"""The coding agents section of the settings (`agents:`)."""

from __future__ import annotations

from pydantic import Field, SecretStr, field_validator, model_validator

from bot.core.settings import HttpUrlText, Section, SectionKey


class AgentBackend(Section):
    name: str = Field(pattern=r"^[\w.-]{1,40}$", description="name people pick the agent by")
    kind: str = Field(
        pattern=r"^[a-z][a-z0-9_]{0,30}$",
        description="a module in bot/agents/backends/: a2a or command",
    )
    url: HttpUrlText | None = Field(default=None, description="the A2A agent's address (a2a)")
    command: list[str] | None = Field(
        default=None, description="the agent's command line (command)"
    )
    token: SecretStr | None = Field(default=None, description="bearer token sent to the agent")
    token_file: str | None = Field(
        default=None,
        description="file holding the token (a mounted secret), instead of `token`",
    )

    @field_validator("kind")
    @classmethod
    def _known_kind(cls, value: str) -> str:
        from importlib.util import find_spec

        if value in ("base", "registry") or find_spec(f"bot.agents.backends.{value}") is None:
            raise ValueError(f"must name an agent backend kind, e.g. a2a or command ({value!r})")
        return value

    @model_validator(mode="after")
    def _token_from_file(self) -> AgentBackend:
        # The YAML file is usually a ConfigMap; the token itself belongs in a Secret.
        if self.token_file is None:
            return self
        if self.token is not None:
            raise ValueError("set token or token_file, not both")
        try:
            with open(self.token_file, encoding="utf-8") as file:
                self.token = SecretStr(file.read().strip())
        except OSError as error:
            reason = f"token_file: cannot read {self.token_file} ({error.strerror})"
            raise ValueError(reason) from None
        return self


class AgentsConfig(Section):
    backends: list[AgentBackend] = Field(
        default_factory=list, description="the coding agents people can hand work to"
    )
    allowed_users: list[str] = Field(
        default_factory=list,
        description="user ids (U...) and user group ids (S...); empty means everyone",
    )
    repos: dict[str, str] = Field(
        default_factory=dict, description="channel id -> default repository (owner/name)"
    )
    max_messages: int = Field(
        default=50, gt=0, description="most thread messages given to an agent"
    )
    max_chars: int = Field(
        default=20000, gt=0, description="most characters of thread given to an agent"
    )
    checkouts: dict[str, str] = Field(
        default_factory=dict,
        description="local clones for the command backend: repository (owner/name) -> path",
    )
    worktree_root: str | None = Field(
        default=None,
        description="where the command backend makes worktrees (default: a temporary directory)",
    )
    github_token: SecretStr | None = Field(
        default=None, description="token to open pull requests on the forge"
    )
    github_api_url: HttpUrlText = Field(
        default="https://api.github.com",
        description="the forge's API (GitHub Enterprise: https://host/api/v3)",
    )
    retries: int = Field(default=3, ge=1, le=20, description="attempts before a run gives up")
    retry_seconds: float = Field(
        default=2.0, ge=0, description="first wait between attempts, doubled each time"
    )
    attempt_timeout_minutes: float = Field(
        default=60.0, gt=0, description="how long one attempt may run"
    )
    recover_seconds: float = Field(
        default=15.0, gt=0, description="how often runs left by a stopped process are resumed"
    )


SECTION: SectionKey[AgentsConfig] = SectionKey(
    "agents", AgentsConfig, AgentsConfig, "coding agents"
)
