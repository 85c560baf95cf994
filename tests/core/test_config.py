"""Configuration as an operator meets it: every problem in one run, each naming where it came
from; secrets from files; URLs checked; a reference that matches the code."""

from __future__ import annotations

import os
import subprocess
import sys
import tomllib
from collections.abc import Iterator
from pathlib import Path

import pytest

from bot.config import ConfigError, Settings, load_settings
from bot.config_docs import COMMAND, render
from bot.config_sources import env_name, secret_paths

ROOT = Path(__file__).resolve().parents[2]
OPSBOT = [sys.executable, "-m", "bot.cli"]


def _ours(name: str) -> bool:
    """Variables that would be read as settings, so the machine's own cannot leak in."""
    upper = name.upper()
    fields = [field.upper() for field in Settings.model_fields]
    return any(upper == f or upper.startswith((f + "__", f + "_FILE")) for f in fields)


def run(*args: str, env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not _ours(k)}
    return subprocess.run(
        [*OPSBOT, *args], env={**clean, **env}, cwd=cwd, capture_output=True, text=True, timeout=60
    )


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    for name in list(os.environ):
        if _ours(name):
            monkeypatch.delenv(name)
    yield
    for name in list(os.environ):  # set by the test; monkeypatch then restores the machine's
        if _ours(name):
            del os.environ[name]


def problems(**env: str) -> list[str]:
    for name, value in env.items():
        os.environ[name] = value  # the autouse fixture removes them again
    with pytest.raises(ConfigError) as caught:
        load_settings()
    return list(caught.value.lines)


def test_every_problem_is_reported_in_one_run_naming_file_line_or_variable(
    tmp_path: Path,
) -> None:
    config = tmp_path / "opsbot.yml"
    config.write_text(
        "incidents:\n"
        "  announce_channel: general\n"  # line 2: not a channel id
        "ci:\n"
        "  routes:\n"
        "    - repo: octo-org/octo-repo\n"
        "      channel: C0CI\n"
        "      branchs: [main]\n"  # line 7: a typo
        "digests:\n"
        "  - channel: C0ENG\n"
        "    cron: every morning\n"  # line 10: not a crontab
    )
    env = {"OPSBOT_CONFIG": str(config), "SLACK_API_URL": "slack.com/api"}
    result = run("check", env=env, cwd=tmp_path)
    assert result.returncode == 2, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 4, lines
    assert f"opsbot: {config}:2: setting incidents.announce_channel: must match" in lines[1]
    assert f"opsbot: {config}:7: setting ci.routes[0].branchs: is not a known setting" in lines
    assert any(
        line.startswith(f"opsbot: {config}:10: setting digests[0].cron: must be") for line in lines
    )
    assert lines[0] == (
        "opsbot: setting SLACK_API_URL: must be an http:// or https:// URL (got 'slack.com/api')"
    )
    assert "<unicode string>" not in result.stderr


def test_a_broken_yaml_names_its_file_and_line_and_env_problems_still_show(
    tmp_path: Path,
) -> None:
    config = tmp_path / "opsbot.yml"
    config.write_text("admins: [U0ADMIN]\nincidents:\n  announce_channel: [C0INC\n")
    found = problems(OPSBOT_CONFIG=str(config), CI__STILL_RED_HOURS="-1")
    assert len(found) == 2, found
    assert found[0].startswith(f"{config}:4: not valid YAML: ")
    assert found[1] == "setting CI__STILL_RED_HOURS (ci.still_red_hours): must be greater than 0"


def test_a_yaml_that_is_not_a_mapping_is_named(tmp_path: Path) -> None:
    config = tmp_path / "opsbot.yml"
    config.write_text("- admins\n")
    assert problems(OPSBOT_CONFIG=str(config)) == [f"{config}: must hold a mapping of settings"]


@pytest.mark.parametrize(
    ("env", "expected"),
    [
        ({"SLACK_API_URL": "ftp://slack.com/api/"}, "setting SLACK_API_URL: must be an http"),
        ({"OPSBOT_PUBLIC_URL": "bot.example.com"}, "setting OPSBOT_PUBLIC_URL: must be an http"),
        (
            {"AGENTS__GITHUB_API_URL": "github.example.com/api/v3"},
            "setting AGENTS__GITHUB_API_URL (agents.github_api_url): must be an http",
        ),
        ({"DATABASE_URL": "mysql://db/opsbot"}, "setting DATABASE_URL: must be a sqlite:///"),
        (
            {"DATABASE_URL": "postgresql://db:port/opsbot"},
            "setting DATABASE_URL: must be a sqlite:///",
        ),
    ],
)
def test_urls_are_checked_and_the_bad_one_named(env: dict[str, str], expected: str) -> None:
    [line] = problems(**env)
    assert line.startswith(expected), line


def test_an_agent_url_in_the_file_is_checked_without_echoing_credentials(tmp_path: Path) -> None:
    config = tmp_path / "opsbot.yml"
    config.write_text(
        "agents:\n  backends:\n"
        "    - {name: a, kind: a2a, url: 'http://127.0.0.1:9999/'}\n"
        "    - {name: b, kind: a2a, url: 'user:hunter2@agents'}\n"
    )
    [line] = problems(OPSBOT_CONFIG=str(config))
    assert line == f"{config}:4: setting agents.backends[1].url: must be an http:// or https:// URL"


SECRETS = sorted(env_name(loc) for loc in secret_paths(Settings))


def test_every_secret_can_come_from_a_file() -> None:
    assert {
        "SLACK_BOT_TOKEN",
        "SLACK_SIGNING_SECRET",
        "SLACK_APP_TOKEN",
        "SLACK_CLIENT_SECRET",
        "DATABASE_URL",
    } <= set(SECRETS)
    assert {"GITHUB_WEBHOOK_SECRET", "CI__GITHUB_TOKEN", "AGENTS__GITHUB_TOKEN"} <= set(SECRETS)


# Settings a secret is only valid with (OAuth's client secret needs its client id and URL).
COMPANIONS = {
    "SLACK_CLIENT_SECRET": {
        "SLACK_CLIENT_ID": "1111.2222",
        "OPSBOT_PUBLIC_URL": "https://bot.example.com",
    }
}


@pytest.mark.parametrize("name", SECRETS)
def test_name_file_is_read_with_its_trailing_newline_dropped(tmp_path: Path, name: str) -> None:
    value = {
        "SLACK_BOT_TOKEN": "xoxb-1-from-file",
        "SLACK_APP_TOKEN": "xapp-1-from-file",
        "DATABASE_URL": f"sqlite:///{tmp_path}/from-file.db",
    }.get(name, "from-file")
    secret = tmp_path / "secret"
    secret.write_text(value + "\n")
    os.environ[f"{name}_FILE"] = str(secret)
    os.environ.update(COMPANIONS.get(name, {}))
    settings = load_settings()
    held: object = settings
    for part in name.lower().split("__"):
        held = getattr(held, part)
    shown = held if isinstance(held, str) else held.get_secret_value()  # type: ignore[attr-defined]
    assert shown == value


def test_name_and_name_file_together_is_an_error(tmp_path: Path) -> None:
    secret = tmp_path / "token"
    secret.write_text("xoxb-1\n")
    assert problems(SLACK_BOT_TOKEN="xoxb-2", SLACK_BOT_TOKEN_FILE=str(secret)) == [
        "setting SLACK_BOT_TOKEN_FILE: set SLACK_BOT_TOKEN or SLACK_BOT_TOKEN_FILE, not both"
    ]


def test_bad_secret_files_are_named_and_their_values_never_printed(tmp_path: Path) -> None:
    token = tmp_path / "token"
    token.write_text("xoxp-user-token-not-a-bot-one\n")
    found = problems(
        SLACK_BOT_TOKEN_FILE=str(token),
        SLACK_SIGNING_SECRET_FILE=str(tmp_path / "missing"),
        SLACK_APP_TOKEN="xoxb-pasted-in-the-wrong-place",
    )
    assert found == [
        f"setting SLACK_SIGNING_SECRET_FILE: cannot read {tmp_path / 'missing'} "
        "(No such file or directory)",
        f"setting SLACK_BOT_TOKEN_FILE ({token}): must be a bot token starting with xoxb-",
        "setting SLACK_APP_TOKEN: must be an app-level token starting with xapp-",
    ]


def test_the_secrets_directory_fills_settings_and_names_its_files(tmp_path: Path) -> None:
    """A Kubernetes Secret mounted as a volume: one file per key, any case, newline or not."""
    (tmp_path / "SLACK_BOT_TOKEN").write_text("xoxb-from-the-dir\n")
    (tmp_path / "slack_signing_secret").write_text("s3cr3t-from-the-dir")
    (tmp_path / "ci__github_token").write_text("ghp_from_the_dir\n")
    (tmp_path / "unrelated.conf").write_text("ignored")
    os.environ["OPSBOT_SECRETS_DIR"] = str(tmp_path)
    settings = load_settings()
    assert settings.slack_bot_token and settings.slack_signing_secret and settings.ci.github_token
    assert settings.slack_bot_token.get_secret_value() == "xoxb-from-the-dir"
    assert settings.slack_signing_secret.get_secret_value() == "s3cr3t-from-the-dir"
    assert settings.ci.github_token.get_secret_value() == "ghp_from_the_dir"
    assert "from-the-dir" not in repr(settings) and "from-the-dir" not in str(settings)

    (tmp_path / "CI__STILL_RED_HOURS").write_text("0\n")
    assert problems() == [
        f"{tmp_path / 'CI__STILL_RED_HOURS'}: setting ci.still_red_hours: must be greater than 0"
    ]
    assert problems(OPSBOT_SECRETS_DIR=str(tmp_path / "nope")) == [
        f"setting OPSBOT_SECRETS_DIR: must name a directory ({tmp_path / 'nope'})"
    ]


def test_an_agent_token_can_come_from_a_file_named_in_the_yaml(tmp_path: Path) -> None:
    (tmp_path / "agent-token").write_text("agent-secret\n")
    config = tmp_path / "opsbot.yml"
    config.write_text(
        "agents:\n  backends:\n"
        f"    - {{name: a, kind: a2a, url: 'http://a/', token_file: '{tmp_path}/agent-token'}}\n"
    )
    os.environ["OPSBOT_CONFIG"] = str(config)
    [backend] = load_settings().agents.backends
    assert backend.token and backend.token.get_secret_value() == "agent-secret"


def test_check_passes_with_slack_secrets_given_only_as_files(tmp_path: Path) -> None:
    (tmp_path / "bot-token").write_text("xoxb-from-a-file\n")
    (tmp_path / "signing-secret").write_text("signing-from-a-file\n")
    env = {
        "SLACK_BOT_TOKEN_FILE": str(tmp_path / "bot-token"),
        "SLACK_SIGNING_SECRET_FILE": str(tmp_path / "signing-secret"),
        "DATABASE_URL": f"sqlite:///{tmp_path}/check.db",
    }
    result = run("check", env=env, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "configuration is valid" in result.stdout and result.stderr == ""
    assert "from-a-file" not in result.stdout


def test_socket_mode_dependencies_install_with_the_package() -> None:
    """slack_sdk's Socket Mode client runs on aiohttp; the sandbox serves its websocket
    through uvicorn, which needs `websockets`. Neither may be a dev-only extra."""
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    names = {spec.split(">")[0].split("[")[0].split("=")[0].strip().lower() for spec in
             project["dependencies"]}  # fmt: skip
    assert {"aiohttp", "websockets", "slack-sdk", "slack-bolt"} <= names


def test_the_configuration_reference_is_current() -> None:
    checked_in = (ROOT / "docs" / "configuration.md").read_text()
    assert checked_in == render(), f"docs/configuration.md is stale: run `{COMMAND}`"


def test_the_reference_lists_every_variable_and_key() -> None:
    text = render()
    for name in ("SLACK_BOT_TOKEN_FILE", "OPSBOT_SECRETS_DIR", "CI__STILL_RED_HOURS"):
        assert f"`{name}`" in text
    for key in ("ci.routes[].channel", "agents.backends[].token_file", "digests[].cron"):
        assert f"`{key}`" in text
