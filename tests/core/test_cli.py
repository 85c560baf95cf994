"""The `opsbot` command as an operator uses it: real processes, real HTTP."""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from bot.sandbox.signing import signed_headers
from tests.agents.isolated import podman_runtime

OPSBOT = [sys.executable, "-m", "bot.cli"]
# What `opsbot check` needs besides valid settings to say the bot can serve.
READY = {"SLACK_BOT_TOKEN": "xoxb-test", "SLACK_SIGNING_SECRET": "serve-secret"}


def run(
    *args: str, env: dict[str, str] | None = None, cwd: Path | None = None
) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "OPSBOT_"))}
    return subprocess.run(
        [*OPSBOT, *args],
        env={**clean, **(env or {})},
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_serve_without_a_token_points_to_the_demo(tmp_path: Path) -> None:
    result = run("serve", cwd=tmp_path)
    assert result.returncode == 2
    [line] = result.stderr.strip().splitlines()
    assert "SLACK_BOT_TOKEN" in line and "opsbot demo" in line


def test_a_bad_setting_stops_start_up_with_one_line_naming_it(tmp_path: Path) -> None:
    config = tmp_path / "opsbot.yml"
    config.write_text("incidents:\n  announce_channel: general\n")
    result = run("check", env={"OPSBOT_CONFIG": str(config)}, cwd=tmp_path)
    assert result.returncode == 2
    # The file and line come first, as compilers print them: editors jump there.
    assert result.stderr.strip().splitlines() == [
        f"opsbot: {config}:2: setting incidents.announce_channel: "
        "must match ^[CGD][A-Z0-9]{2,}$ (got 'general')"
    ]


@pytest.mark.parametrize(
    ("env", "named"),
    [
        ({"SLACK_BOT_TOKEN": "xoxp-user-token"}, "SLACK_BOT_TOKEN: must be a bot token"),
        ({"DATABASE_URL": "mysql://db/opsbot"}, "DATABASE_URL: must be a sqlite"),
        ({"OPSBOT_CONFIG": "/nonexistent.yml"}, "OPSBOT_CONFIG: must name a readable YAML"),
        ({"CI__STILL_RED_HOURS": "-1"}, "ci.still_red_hours"),
    ],
)
def test_each_bad_setting_is_named(tmp_path: Path, env: dict[str, str], named: str) -> None:
    result = run("check", env=env, cwd=tmp_path)
    assert result.returncode == 2 and named in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_ci_true_in_the_environment_is_not_the_ci_section(tmp_path: Path) -> None:
    """Every CI system sets CI=true; it must not be read as the `ci` settings section."""
    result = run("check", env={**READY, "CI": "true", "CI__STILL_RED_HOURS": "2"}, cwd=tmp_path)
    assert result.returncode == 0 and "configuration is valid" in result.stdout, result.stderr
    bad = run("check", env={"CI": "{not json"}, cwd=tmp_path)
    assert bad.returncode == 2 and len(bad.stderr.strip().splitlines()) == 1


def test_unknown_key_in_the_config_file_is_named(tmp_path: Path) -> None:
    config = tmp_path / "opsbot.yml"
    config.write_text("incidnets:\n  channel_prefix: inc\n")
    result = run("check", env={"OPSBOT_CONFIG": str(config)}, cwd=tmp_path)
    assert "incidnets: is not a known setting" in result.stderr


def test_check_prints_what_the_config_file_enables(tmp_path: Path) -> None:
    config = tmp_path / "opsbot.yml"
    config.write_text(
        "admins: [U0ADMIN]\n"
        "incidents: {announce_channel: C0INCIDENTS}\n"
        "ci:\n  routes:\n    - {repo: octo-org/octo-repo, branches: [main], channel: C0CI}\n"
        "agents:\n  backends:\n    - {name: default, kind: a2a, url: 'http://127.0.0.1:9999/'}\n"
        "digests:\n  - {channel: C0ENG, cron: '0 9 * * mon-fri', timezone: Europe/Paris}\n"
    )
    env = {**READY, "OPSBOT_CONFIG": str(config), "GITHUB_WEBHOOK_SECRET": "s"}
    result = run("check", env=env, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert "configuration is valid" in out
    assert "announce in C0INCIDENTS" in out and "1 route(s); webhooks: github" in out
    assert "default (a2a)" in out and "digests: 1 scheduled" in out


def test_db_upgrade_and_jobs(tmp_path: Path) -> None:
    env = {"DATABASE_URL": f"sqlite:///{tmp_path}/ops.db"}
    assert run("db", "upgrade", env=env).returncode == 0
    listed = run("jobs", "list", env=env)
    assert listed.returncode == 0 and "core.prune_ledger" in listed.stdout
    unknown = run("jobs", "run", "nope", env={**env, "SLACK_BOT_TOKEN": "xoxb-x"})
    assert unknown.returncode == 2 and "no job named 'nope'" in unknown.stderr
    ran = run(
        "jobs",
        "run",
        "core.prune_ledger",
        env={**env, "SLACK_BOT_TOKEN": "xoxb-x", "SLACK_SIGNING_SECRET": "s"},
    )
    assert ran.returncode == 0 and "ran core.prune_ledger" in ran.stdout


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextlib.contextmanager
def serving(database_url: str, *flags: str, log: Path | None = None) -> Iterator[str]:
    """`opsbot serve` in its own process on loopback, against an unreachable Slack, until it
    answers /livez; its base URL. Its stderr goes to `log` when given."""
    port = _free_port()
    env = {**READY, "SLACK_API_URL": "http://127.0.0.1:9/api/", "DATABASE_URL": database_url}
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "OPSBOT_"))}
    with contextlib.ExitStack() as stack:
        errors = stack.enter_context(log.open("w")) if log else subprocess.DEVNULL
        process = subprocess.Popen(
            [*OPSBOT, "serve", *flags, "--host", "127.0.0.1", "--port", str(port)],
            env={**clean, **env},
            stdout=subprocess.DEVNULL,
            stderr=errors,
        )
        base = f"http://127.0.0.1:{port}"
        try:
            for _ in range(200):
                try:
                    if httpx.get(f"{base}/livez", timeout=0.5).status_code == 200:
                        break
                except httpx.TransportError:
                    time.sleep(0.05)
            else:
                raise AssertionError("opsbot serve did not come up")
            yield base
        finally:
            process.terminate()
            process.wait(timeout=30)


@pytest.fixture
def served(tmp_path: Path) -> Iterator[str]:
    with serving(f"sqlite:///{tmp_path}/serve.db") as base:
        yield base


def test_serve_migrates_and_answers_signed_commands_over_http(served: str) -> None:
    body = b"command=%2Fops&text=help&user_id=U0ALICE&channel_id=C0GENERAL&team_id=T0SANDBOX"
    headers = {
        "Content-Type": "application/x-www-form-urlencoded",
        **signed_headers("serve-secret", int(time.time()), body),
    }
    response = httpx.post(f"{served}/slack/events", content=body, headers=headers)
    assert response.status_code == 200 and "/ops help" in response.text
    forged = {**headers, "X-Slack-Signature": "v0=" + "0" * 64}
    assert httpx.post(f"{served}/slack/events", content=body, headers=forged).status_code == 401
    metrics = httpx.get(f"{served}/metrics").text
    assert "opsbot_http_request_seconds_bucket" in metrics


def test_check_fails_without_what_serving_needs_and_probes_the_database(tmp_path: Path) -> None:
    bare = run("check", cwd=tmp_path)
    assert bare.returncode == 1 and "configuration is valid" in bare.stdout
    problems = bare.stderr.strip().splitlines()
    assert any("SLACK_BOT_TOKEN is not set" in line for line in problems)
    assert any("SLACK_SIGNING_SECRET is not set" in line for line in problems)
    assert "not migrated yet" in bare.stdout  # the default SQLite file answers, empty

    socket_mode = {"SLACK_BOT_TOKEN": "xoxb-test", "SLACK_APP_TOKEN": "xapp-test"}
    assert run("check", env=socket_mode, cwd=tmp_path).returncode == 0

    gone = {**READY, "DATABASE_URL": "postgresql://opsbot:secret@127.0.0.1:9/opsbot"}
    down = run("check", env=gone, cwd=tmp_path)
    assert down.returncode == 1 and "database does not answer" in down.stderr
    assert "secret" not in down.stderr and "127.0.0.1" not in down.stderr

    env = {**READY, "DATABASE_URL": f"sqlite:///{tmp_path}/ready.db"}
    assert run("db", "upgrade", env=env).returncode == 0
    ready = run("check", env=env, cwd=tmp_path)
    assert ready.returncode == 0 and "database answers, at revision" in ready.stdout


def test_check_says_how_command_agents_are_isolated(tmp_path: Path) -> None:
    config = tmp_path / "opsbot.yml"
    config.write_text(
        "agents:\n  backends:\n    - {name: codex, preset: codex}\n  checkouts: {o/r: /srv/r}\n"
    )
    env = {**READY, "OPSBOT_CONFIG": str(config), "PATH": "/nonexistent"}  # no bwrap on it
    refused = run("check", env=env, cwd=tmp_path)
    assert refused.returncode == 1
    assert "agent isolation: unavailable" in refused.stdout
    assert "install bubblewrap, or set agents.isolation: none" in refused.stderr
    config.write_text(config.read_text() + "  isolation: none\n")
    allowed = run("check", env=env, cwd=tmp_path)
    assert allowed.returncode == 0, allowed.stderr
    assert "agent isolation: none (agents.isolation: none)" in allowed.stdout
    assert "agent codex may reach" not in allowed.stdout  # unisolated: nothing holds it


def test_check_says_what_each_agent_may_reach_in_podman(tmp_path: Path) -> None:
    runtime = podman_runtime()
    config = tmp_path / "opsbot.yml"
    agents = (
        "agents:\n  isolation: podman\n"
        "  backends:\n    - {name: codex, preset: codex}\n"
        "    - {name: local, kind: command, command: [x]}\n"
    )
    config.write_text(agents + (f"  podman_runtime: {runtime}\n" if runtime else ""))
    env = {**READY, "OPSBOT_CONFIG": str(config)}
    ready = run("check", env=env, cwd=tmp_path)
    assert ready.returncode == 0, ready.stderr
    assert "agent isolation: podman (" in ready.stdout
    assert "agent codex may reach: api.openai.com only, through opsbot's egress proxy" in (
        ready.stdout
    )
    assert "agent local may reach: no network" in ready.stdout
    config.write_text(agents + "  podman_runtime: no-such-runtime\n")
    refused = run("check", env=env, cwd=tmp_path)
    assert refused.returncode == 1
    assert "install podman, or set agents.isolation: none" in refused.stderr
