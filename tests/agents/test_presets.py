"""Presets: each known CLI agent is started with its documented flags for unattended editing,
gets only its own key, and its own output format is read into steps and a summary.

The stand-ins on PATH print each tool's recorded output (streams/, with its sources) and edit
the worktree; the backend, git and the worktree are real.
"""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from bot.agents import models as m
from bot.agents.backends.base import Update
from bot.agents.backends.presets import PRESETS
from bot.agents.settings import AgentBackend, AgentsConfig
from bot.sandbox.agent_git import make_repo
from tests.agents.backend_runs import REPO, drive, job

STANDIN = Path(__file__).with_name("standin_agent.py")
PROMPT = "Make the login test retry twice.\n\n(thread)"

# The command line each tool's documentation gives for one unattended edit, model m1.
ARGV: dict[str, list[str]] = {
    "codex": [
        "exec",
        "--json",
        "--sandbox",
        "workspace-write",
        "--skip-git-repo-check",
        "--model",
        "m1",
    ],
    "claude": [
        "-p",
        "--output-format",
        "stream-json",
        "--verbose",
        "--permission-mode",
        "acceptEdits",
        "--model",
        "m1",
    ],
    "aider": [
        f"--message={PROMPT}",
        "--yes-always",
        "--no-auto-commits",
        "--no-dirty-commits",
        "--no-pretty",
        "--no-stream",
        "--no-fancy-input",
        "--no-check-update",
        "--no-show-release-notes",
        "--no-analytics",
        "--no-gitignore",
        "--no-detect-urls",
        "--chat-history-file",
        "/dev/null",
        "--input-history-file",
        "/dev/null",
        "--model",
        "m1",
    ],
    "openhands": ["--headless", "--json", "--override-with-envs", f"--task={PROMPT}"],
    "gemini": [
        f"--prompt={PROMPT}",
        "--output-format",
        "stream-json",
        "--approval-mode",
        "yolo",
        "--skip-trust",
        "--model",
        "m1",
    ],
    "opencode": [
        "run",
        "--format",
        "json",
        "--dangerously-skip-permissions",
        "--model",
        "m1",
    ],
}
KEY_ENV = {
    "codex": "OPENAI_API_KEY",
    "claude": "ANTHROPIC_API_KEY",
    "aider": "ANTHROPIC_API_KEY",
    "openhands": "LLM_API_KEY",
    "gemini": "GEMINI_API_KEY",
    "opencode": "ANTHROPIC_API_KEY",
}
# What each recorded stream says last: the step left on the card, and the summary.
SAID: dict[str, tuple[str, str | None]] = {
    "codex": ("Created hello.txt containing `hello`.", "Created hello.txt containing `hello`."),
    "claude": ("Created hello.txt.", "Created hello.txt."),
    "aider": ("Applied edit to tests/test_login.py", None),
    "openhands": ("List the tests", "The login test now retries twice."),
    "gemini": ("Here are the files...", "Here are the files..."),
    "opencode": ("Hello", "Hello"),
}


@pytest.fixture
def tools(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Every preset's executable on PATH, and a bot environment full of secrets."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for tool in PRESETS:
        wrapper = bin_dir / tool
        wrapper.write_text(f'#!/bin/sh\nexec {sys.executable} {STANDIN} {tool} {bin_dir} "$@"\n')
        wrapper.chmod(wrapper.stat().st_mode | stat.S_IXUSR)
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
    for name, value in {
        "SLACK_BOT_TOKEN": "xoxb-the-bots",
        "DATABASE_URL": "postgresql://opsbot:pw@db/opsbot",
        "OPENAI_API_KEY": "sk-the-bots-own",
        "AWS_SECRET_ACCESS_KEY": "aws-secret",
    }.items():
        monkeypatch.setenv(name, value)
    return bin_dir


async def _drive(backend_entry: dict[str, Any], tmp_path: Path) -> tuple[list[Update], Path]:
    checkout = make_repo(tmp_path / "checkout")
    agents = AgentsConfig(
        backends=[AgentBackend.model_validate(backend_entry)],
        checkouts={REPO: str(checkout)},
        worktree_root=str(tmp_path / "trees"),
        isolation="none",  # the stand-ins write down how they were started, outside
    )
    return await drive(agents, job(payload=PROMPT)), checkout


def _calls(bin_dir: Path) -> list[dict[str, Any]]:
    lines = (bin_dir / "calls.jsonl").read_text().splitlines()
    return [json.loads(line) for line in lines]


def _committed(checkout: Path, branch: str) -> list[str]:
    out = subprocess.run(
        ["git", "-C", str(checkout), "diff", "--name-only", "main", branch],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    return out.split()


@pytest.mark.parametrize("preset", list(PRESETS))
async def test_each_preset_runs_its_tool_unattended_and_reads_its_output(
    preset: str, tools: Path, tmp_path: Path
) -> None:
    entry = {"name": preset, "preset": preset, "model": "m1", "api_key": f"key-of-{preset}"}
    updates, checkout = await _drive(entry, tmp_path)

    [call] = _calls(tools)
    assert call["args"] == ARGV[preset]
    # The prompt goes in on stdin, or as an option's value: never as an argument of its own.
    assert PROMPT not in call["args"]
    assert call["stdin"] == PROMPT or any(arg.endswith(f"={PROMPT}") for arg in call["args"])
    assert call["keys"] == {KEY_ENV[preset]: f"key-of-{preset}"}  # its own, not the bot's
    for secret in ("SLACK_BOT_TOKEN", "DATABASE_URL", "AWS_SECRET_ACCESS_KEY"):
        assert secret not in call["env"]
    assert Path(call["cwd"]).parent == tmp_path / "trees" / "octo-org__octo-repo"
    if preset == "openhands":  # it takes its model from the environment
        assert "LLM_MODEL" in call["env"]

    step, summary = SAID[preset]
    steps = [u.step for u in updates if u.state == m.WORKING]
    assert steps[-1] == step
    final = updates[-1]
    assert final.state == m.COMPLETED and final.outcome is not None, updates
    assert final.outcome.summary == summary
    assert (final.outcome.files_changed, final.outcome.lines_added) == (1, 1)
    assert _committed(checkout, "opsbot/agent-1-1") == ["login.py"]  # no tool scratch files


async def test_an_entry_overrides_its_preset(tools: Path, tmp_path: Path) -> None:
    entry = {
        "name": "codex-gateway",
        "preset": "codex",
        "command": ["codex", "exec", "--json", "--sandbox", "workspace-write"],
        "key_env": "CODEX_API_KEY",
        "api_key": "k",
        "pass_env": ["AWS_SECRET_ACCESS_KEY"],
    }
    updates, _ = await _drive(entry, tmp_path)
    [call] = _calls(tools)
    assert call["args"] == ["exec", "--json", "--sandbox", "workspace-write"]
    assert call["keys"] == {"CODEX_API_KEY": "k"}
    assert "AWS_SECRET_ACCESS_KEY" in call["env"]  # named by the operator
    assert updates[-1].outcome is not None
    assert updates[-1].outcome.summary == SAID["codex"][1]  # still read as Codex's events


def test_a_preset_or_format_that_does_not_exist_is_refused() -> None:
    with pytest.raises(ValueError, match="codex, claude, aider"):
        AgentBackend.model_validate({"name": "x", "preset": "copilot"})
    with pytest.raises(ValueError, match="must be one of"):
        AgentBackend.model_validate({"name": "x", "kind": "command", "progress": "xml"})
    assert AgentBackend.model_validate({"name": "x", "preset": "claude"}).kind == "command"


def _readme_agents() -> dict[str, Any]:
    """The configuration the README gives in "Using real coding agents"."""
    readme = (Path(__file__).parents[2] / "README.md").read_text()
    section = readme.split("### Using real coding agents", 1)[1]
    block = section.split("```yaml\n", 1)[1].split("```", 1)[0]
    agents: dict[str, Any] = yaml.safe_load(block)["agents"]
    return agents


async def test_the_readme_configuration_runs_each_preset(tools: Path, tmp_path: Path) -> None:
    given = _readme_agents()
    assert {entry["preset"] for entry in given["backends"]} == set(PRESETS)
    for entry in given["backends"]:
        key = tmp_path / f"{entry['name']}.key"  # the mounted secret
        key.write_text(f"key-of-{entry['name']}\n")
        run = tmp_path / entry["name"]
        updates, _ = await _drive({**entry, "api_key_file": str(key)}, run)
        assert updates[-1].state == m.COMPLETED, (entry["name"], updates[-1])
    calls = _calls(tools)
    assert [call["tool"] for call in calls] == [e["preset"] for e in given["backends"]]
    for call, entry in zip(calls, given["backends"], strict=True):
        assert call["keys"] == {KEY_ENV[entry["preset"]]: f"key-of-{entry['name']}"}
