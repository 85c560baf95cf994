"""The coding agents section of the settings (`agents:`)."""

from __future__ import annotations

import re
from typing import Any, Literal

from pydantic import Field, SecretStr, field_validator, model_validator

from bot.core.settings import HttpUrlText, Section, SectionKey

HOST = re.compile(r"(\*\.)?[A-Za-z0-9]([A-Za-z0-9.-]{0,252})(:\d{1,5})?")


class AgentBackend(Section):
    name: str = Field(pattern=r"^[\w.-]{1,40}$", description="name people pick the agent by")
    kind: str = Field(
        pattern=r"^[a-z][a-z0-9_]{0,30}$",
        description="a module in bot/agents/backends/: a2a or command (command with a preset)",
    )
    preset: str | None = Field(
        default=None,
        description="a known CLI agent: codex, claude, aider, openhands, gemini or opencode; "
        "fills in command, progress and key_env",
    )
    model: str | None = Field(default=None, description="the model the preset's agent uses")
    api_key: SecretStr | None = Field(
        default=None, description="the agent's own API key, given to it in `key_env` (command)"
    )
    api_key_file: str | None = Field(
        default=None, description="file holding api_key (a mounted secret), instead of `api_key`"
    )
    key_env: str | None = Field(
        default=None,
        pattern=r"^[A-Z][A-Z0-9_]{0,63}$",
        description="the environment variable the agent reads its key from (default: preset's)",
    )
    progress: str | None = Field(
        default=None,
        description="format of the agent's output: codex, claude, gemini, opencode, openhands, "
        "aider or plain (default: preset's, else guessed line by line)",
    )
    network: bool | None = Field(
        default=None,
        description="whether the isolated agent may use the network (default: with a preset, "
        "which needs its model API; else no)",
    )
    hosts: list[str] | None = Field(
        default=None,
        description="the only hosts an isolated agent with the network may reach, through "
        "opsbot's egress proxy: name (port 443), name:port or *.domain (default: the "
        "preset's model API; none named: the whole network)",
    )
    pass_env: list[str] = Field(
        default_factory=list,
        description="more environment variables given to the agent by name (command); "
        "nothing else of the bot's environment is, beyond PATH, HOME and the locale",
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

    @model_validator(mode="before")
    @classmethod
    def _preset_is_a_command(cls, data: Any) -> Any:
        if isinstance(data, dict) and data.get("preset") and not data.get("kind"):
            return {**data, "kind": "command"}
        return data

    @field_validator("preset")
    @classmethod
    def _known_preset(cls, value: str | None) -> str | None:
        from bot.agents.backends.presets import PRESETS

        if value is not None and value not in PRESETS:
            raise ValueError(f"must be one of {', '.join(PRESETS)} ({value!r})")
        return value

    @field_validator("progress")
    @classmethod
    def _known_format(cls, value: str | None) -> str | None:
        from bot.agents.backends.jsonlines import ALL_FORMATS

        if value is not None and value not in ALL_FORMATS:
            raise ValueError(f"must be one of {', '.join(ALL_FORMATS)} ({value!r})")
        return value

    @field_validator("hosts")
    @classmethod
    def _host_names(cls, value: list[str] | None) -> list[str] | None:
        if value is not None and not value:
            raise ValueError(
                "name at least one host, or leave hosts out (network: true gives the whole network)"
            )
        for host in value or []:
            if not HOST.fullmatch(host):
                raise ValueError(f"a host is name, name:port or *.domain ({host!r})")
        return value

    @field_validator("kind")
    @classmethod
    def _known_kind(cls, value: str) -> str:
        from importlib.util import find_spec

        if value in ("base", "registry") or find_spec(f"bot.agents.backends.{value}") is None:
            raise ValueError(f"must name an agent backend kind, e.g. a2a or command ({value!r})")
        return value

    @model_validator(mode="after")
    def _secrets_from_files(self) -> AgentBackend:
        # The YAML file is usually a ConfigMap; the secrets themselves belong in a Secret.
        self.token = _secret_from_file(self.token, self.token_file, "token")
        self.api_key = _secret_from_file(self.api_key, self.api_key_file, "api_key")
        return self


def _secret_from_file(value: SecretStr | None, path: str | None, name: str) -> SecretStr | None:
    if path is None:
        return value
    try:
        with open(path, encoding="utf-8") as file:
            read = SecretStr(file.read().strip())
    except OSError as error:
        raise ValueError(f"{name}_file: cannot read {path} ({error.strerror})") from None
    # Validating an entry again (in a larger model) finds the value it read the first time.
    if value is not None and value.get_secret_value() != read.get_secret_value():
        raise ValueError(f"set {name} or {name}_file, not both")
    return read


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
        description="local clones for the command backend: repository (owner/name) -> path; "
        "any other repository is mirrored from git_url",
    )
    git_url: str = Field(
        default="https://github.com/{repo}.git",
        pattern=r"\{repo\}",
        description="where a repository without a checkout is fetched from ({repo}: owner/name; "
        "GitLab: https://gitlab.com/{repo}.git); github_token authenticates",
    )
    mirror_root: str | None = Field(
        default=None,
        description="where the command backend keeps a bare mirror of each repository "
        "(default: a temporary directory)",
    )
    worktree_root: str | None = Field(
        default=None,
        description="where the command backend makes worktrees (default: a temporary directory)",
    )
    worktree_keep_minutes: float = Field(
        default=0,
        ge=0,
        description="how long an attempt's worktree stays on the bot's host after the "
        "attempt ends, to look into (0: removed at once); one left by a stopped process is "
        "removed once its attempt's timeout has passed",
    )
    github_token: SecretStr | None = Field(
        default=None, description="token to open pull requests on the forge"
    )
    github_api_url: HttpUrlText = Field(
        default="https://api.github.com",
        description="the forge's API (GitHub Enterprise: https://host/api/v3)",
    )
    isolation: Literal["auto", "bubblewrap", "podman", "none"] = Field(
        default="auto",
        description="how command agents are isolated: bubblewrap (auto: when it can run; "
        "without it they are refused), podman (a container with cgroup limits, no image "
        "pulled), or none to run them with the bot's own access",
    )
    podman_runtime: str | None = Field(
        default=None,
        description="the OCI runtime podman runs agents with (--runtime, e.g. runc where "
        "crun cannot run); default: podman's own",
    )
    egress: Literal["proxy", "open"] = Field(
        default="proxy",
        description="how an isolated agent with the network reaches it: through opsbot's "
        "proxy, to its backend's hosts only (proxy), or directly, anywhere (open)",
    )
    read_only_paths: list[str] = Field(
        default_factory=list,
        description="more paths an isolated agent can read: where its tool is installed "
        "(besides /usr, /opt and the system libraries)",
    )
    memory_mb: int = Field(
        default=8192,
        ge=64,
        description="memory an isolated agent may use (MiB): its private writable data "
        "under bubblewrap, its cgroup's memory under podman",
    )
    cpu_seconds: int = Field(
        default=3600, ge=1, description="CPU time an isolated agent may use (seconds)"
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
