"""OAuth installs as an operator configures them: one clear line per mistake, the scopes of
the manifest by default, and `opsbot check` accepting OAuth as a way to serve."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import yaml

from bot.config import BOT_SCOPES, ConfigError, load_settings, require_slack

# The environment fixture and the problem reader of the other configuration tests.
from tests.core.test_config import ROOT, clean_environment, problems, run  # noqa: F401

OAUTH = {
    "SLACK_CLIENT_ID": "1111.2222",
    "SLACK_CLIENT_SECRET": "client-secret",
    "SLACK_SIGNING_SECRET": "signing-secret",
    "OPSBOT_PUBLIC_URL": "https://bot.example.com",
}


def without(*names: str) -> dict[str, str]:
    return {k: v for k, v in OAUTH.items() if k not in names}


def test_the_default_scopes_are_the_manifests_bot_scopes() -> None:
    manifest = yaml.safe_load((ROOT / "manifest.yml").read_text())
    assert list(BOT_SCOPES) == manifest["oauth_config"]["scopes"]["bot"]
    os.environ.update(OAUTH)
    assert load_settings().slack_scopes == list(BOT_SCOPES)


def test_scopes_are_read_comma_separated_or_as_a_list() -> None:
    os.environ.update(OAUTH, SLACK_SCOPES="chat:write, commands")
    assert load_settings().slack_scopes == ["chat:write", "commands"]
    os.environ["SLACK_SCOPES"] = '["chat:write"]'
    assert load_settings().slack_scopes == ["chat:write"]


def test_oauth_mode_is_on_with_the_client_id_and_secret() -> None:
    os.environ.update(OAUTH)
    settings = load_settings()
    assert settings.oauth_enabled and settings.slack_bot_token is None
    require_slack(settings)  # serving by OAuth needs no bot token


@pytest.mark.parametrize(
    ("env", "line"),
    [
        (
            without("SLACK_CLIENT_SECRET"),
            "setting SLACK_CLIENT_SECRET: is required with SLACK_CLIENT_ID "
            "(OAuth installs need both)",
        ),
        (
            without("SLACK_CLIENT_ID"),
            "setting SLACK_CLIENT_ID: is required with SLACK_CLIENT_SECRET "
            "(OAuth installs need both)",
        ),
        (
            without("OPSBOT_PUBLIC_URL"),
            "setting OPSBOT_PUBLIC_URL: is required for OAuth installs (Slack sends "
            "installers back to <OPSBOT_PUBLIC_URL>/slack/oauth_redirect)",
        ),
        (
            {**OAUTH, "SLACK_BOT_TOKEN": "xoxb-1"},
            "setting SLACK_BOT_TOKEN: set either SLACK_BOT_TOKEN (one workspace) or "
            "SLACK_CLIENT_ID and SLACK_CLIENT_SECRET (workspaces install by OAuth), not both",
        ),
        ({**OAUTH, "SLACK_SCOPES": ""}, "setting SLACK_SCOPES: must name at least one bot scope"),
        (
            {
                **OAUTH,
                "CI__ROUTES": '[{"repo": "o/r", "channel": "C0CI", "team": "T0A"}, '
                '{"repo": "o/r", "channel": "C0CI2"}]',
            },
            "setting ci.routes.1.team: is required for OAuth installs (the workspace, T..., "
            "whose channel the route posts to)",
        ),
    ],
)
def test_each_oauth_mistake_is_one_clear_line(env: dict[str, str], line: str) -> None:
    assert problems(**env) == [line]


def test_socket_mode_runs_with_a_bot_token_not_oauth() -> None:
    os.environ.update(OAUTH)
    with pytest.raises(ConfigError) as caught:
        require_slack(load_settings(), socket_mode=True)
    assert caught.value.lines[0].startswith("setting SLACK_CLIENT_ID: OAuth installs are served")


def test_check_accepts_oauth_mode_and_says_where_to_install(tmp_path: Path) -> None:
    (tmp_path / "client-secret").write_text("from-a-file\n")
    here = {"PYTHONPATH": str(ROOT)}  # this checkout's `bot`, whatever is installed
    env = {
        **here,
        **without("SLACK_CLIENT_SECRET"),
        "SLACK_CLIENT_SECRET_FILE": str(tmp_path / "client-secret"),
        "DATABASE_URL": f"sqlite:///{tmp_path}/check.db",
    }
    result = run("check", env=env, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "slack: OAuth installs at https://bot.example.com/slack/install" in result.stdout
    assert "from-a-file" not in result.stdout

    result = run("check", env={**here, **without("SLACK_CLIENT_SECRET")}, cwd=tmp_path)
    assert result.returncode == 2
    assert "setting SLACK_CLIENT_SECRET: is required with SLACK_CLIENT_ID" in result.stderr
