"""Repositories without hand-kept clones: the bot mirrors the forge's copy, makes a worktree
per attempt from it and pushes the attempt's branch back (real git; the forge is a bare
repository reached by URL)."""

from __future__ import annotations

import base64
import subprocess
import sys
from pathlib import Path

import pytest

from bot.agents import models as m
from bot.agents.backends import gitwork
from bot.agents.settings import AgentBackend, AgentsConfig
from bot.sandbox.agent_git import make_repo
from tests.agents.backend_runs import REPO, drive, job
from tests.agents.isolated import isolation

FAKE_AGENT = Path(__file__).with_name("fake_agent.py")


def _git(*args: str) -> str:
    return subprocess.run(["git", *args], capture_output=True, text=True, check=True).stdout


@pytest.fixture
def forge(tmp_path: Path) -> Path:
    """The forge: `<forge>/octo-org/octo-repo.git`, a bare repository with a main branch."""
    source = make_repo(tmp_path / "source")
    _git("clone", "--quiet", "--bare", str(source), str(tmp_path / "forge" / f"{REPO}.git"))
    return tmp_path / "forge"


def _mirroring(forge: Path, tmp_path: Path) -> AgentsConfig:
    """The fake agent, with no clone of the repository: it is mirrored from the forge."""
    entry = {"name": "local", "kind": "command", "command": [sys.executable, str(FAKE_AGENT)]}
    return AgentsConfig(
        backends=[AgentBackend.model_validate(entry)],
        git_url=f"file://{forge}/{{repo}}.git",
        mirror_root=str(tmp_path / "mirrors"),
        worktree_root=str(tmp_path / "trees"),
        **isolation(),
    )


async def test_a_repository_without_a_checkout_is_mirrored_and_its_branch_pushed(
    forge: Path, tmp_path: Path
) -> None:
    agents = _mirroring(forge, tmp_path)
    first = await drive(agents, job(1, "make the login test retry"))
    assert first[-1].state == m.COMPLETED, first[-1]
    forge_repo = forge / f"{REPO}.git"
    assert "done by the fake agent" in _git("-C", str(forge_repo), "show", "opsbot/agent-1-1")
    mirror = tmp_path / "mirrors" / "octo-org__octo-repo.git"
    assert (mirror / "HEAD").exists()
    assert list((tmp_path / "trees").glob("*/*")) == []  # the worktree went with the attempt

    # Someone pushes to main; the next attempt starts from it, through the same mirror.
    work = tmp_path / "work"
    _git("clone", "--quiet", str(forge_repo), str(work))
    (work / "CHANGELOG.md").write_text("- retries\n")
    _git("-C", str(work), "add", "-A")
    _git("-C", str(work), "-c", "user.name=a", "-c", "user.email=a@x", "commit", "-qm", "log")
    _git("-C", str(work), "push", "--quiet", "origin", "HEAD:main")
    # An attempt's branch checked out in a worktree of the mirror (an attempt still running)
    # while the forge's copy of it moves: fetching for the next attempt still works.
    _git(
        "-C", str(mirror), "worktree", "add", "--quiet", str(tmp_path / "busy"), "opsbot/agent-1-1"
    )
    _git("-C", str(work), "push", "--quiet", "--force", "origin", "HEAD:opsbot/agent-1-1")
    second = await drive(agents, job(2, "add a note"))
    assert second[-1].state == m.COMPLETED
    files = _git("-C", str(forge_repo), "ls-tree", "--name-only", "opsbot/agent-2-1")
    assert "CHANGELOG.md" in files.split()


async def test_the_forge_token_is_given_to_git_alone(tmp_path: Path) -> None:
    assert gitwork.forge_credentials(None) == {}
    env = gitwork.forge_credentials("ghs_secret")
    assert env["GIT_CONFIG_KEY_0"] == "http.extraHeader"
    header = env["GIT_CONFIG_VALUE_0"].removeprefix("Authorization: Basic ")
    assert base64.b64decode(header).decode() == "x-access-token:ghs_secret"
    # A mirror made with it keeps no trace of it in its config.
    source = make_repo(tmp_path / "source")
    path = tmp_path / "mirror.git"
    await gitwork.mirror(f"file://{source}", path, env)
    assert "ghs_secret" not in (path / "config").read_text()
    assert "extraHeader" not in (path / "config").read_text()


async def test_the_preview_of_a_change_is_redacted(forge: Path, tmp_path: Path) -> None:
    agents = _mirroring(forge, tmp_path)
    updates = await drive(agents, job(3, "leak the settings"))
    outcome = updates[-1].outcome
    assert outcome and outcome.diff_preview and "settings.py" in outcome.diff_preview
    assert "ghp_" not in outcome.diff_preview
    assert outcome.patch and "settings.py" in outcome.patch and "ghp_" not in outcome.patch
