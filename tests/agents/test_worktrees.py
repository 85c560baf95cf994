"""An attempt's worktree is removed when it ends, or kept a set time; one left by a process
that died mid-attempt is removed once its attempt's time is up (real git, the real backend)."""

from __future__ import annotations

import asyncio
import contextlib
import json
import subprocess
import sys
import time
from pathlib import Path

from bot.agents import models as m
from bot.agents.backends import create_backend, gitwork, worktrees
from bot.agents.backends.base import BackendEnv, Update
from bot.agents.settings import AgentBackend, AgentsConfig
from bot.sandbox.agent_git import make_repo
from tests.agents.backend_runs import REPO, drive, job
from tests.agents.isolated import isolation

ROUNDS = 10
FAKE_AGENT = Path(__file__).with_name("fake_agent.py")


def _agents(tmp_path: Path, **extra: object) -> AgentsConfig:
    checkout = tmp_path / "checkout"
    if not checkout.exists():
        make_repo(checkout)
    backend = {"name": "local", "kind": "command", "command": [sys.executable, str(FAKE_AGENT)]}
    return AgentsConfig.model_validate(
        {
            "backends": [AgentBackend.model_validate(backend)],
            "checkouts": {REPO: str(checkout)},
            "worktree_root": str(tmp_path / "trees"),
            **isolation(),
            **extra,
        }
    )


def _listed(tmp_path: Path) -> str:
    return subprocess.run(
        ["git", "-C", str(tmp_path / "checkout"), "worktree", "list"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout


def _tree(tmp_path: Path, task: int) -> Path:
    return tmp_path / "trees" / "octo-org__octo-repo" / f"opsbot-agent-{task}-1"


async def test_a_worktree_goes_when_its_attempt_ends(tmp_path: Path) -> None:
    updates = await drive(_agents(tmp_path), job(1))
    assert updates[-1].state == m.COMPLETED
    tree = _tree(tmp_path, 1)
    assert not tree.exists() and str(tree) not in _listed(tmp_path)
    assert list((tmp_path / "trees").glob("*/*.expires")) == []


async def test_a_kept_worktree_goes_when_its_time_is_up(tmp_path: Path) -> None:
    agents = _agents(tmp_path, worktree_keep_minutes=1)
    before = time.time()
    await drive(agents, job(1))
    tree = _tree(tmp_path, 1)
    assert (tree / "NOTES.md").read_text().endswith("- attempt 1\n")  # there to look into
    assert await worktrees.sweep(tmp_path / "trees", now=before + 30) == []
    assert await worktrees.sweep(tmp_path / "trees", now=time.time() + 61) == [tree]
    assert not tree.exists() and str(tree) not in _listed(tmp_path)


async def test_what_a_dead_process_left_goes_at_the_next_attempt(tmp_path: Path) -> None:
    agents = _agents(tmp_path)
    root = tmp_path / "trees" / "octo-org__octo-repo"
    root.mkdir(parents=True)
    checkout = str(tmp_path / "checkout")
    # Two worktrees whose process was killed mid-attempt: one past its attempt's time, one not.
    stale = await gitwork.add_worktree(checkout, root, "opsbot/agent-7-1", None)
    worktrees.expire_at(stale.path, checkout, time.time() - 1)
    running = await gitwork.add_worktree(checkout, root, "opsbot/agent-8-1", None)
    worktrees.expire_at(running.path, checkout, time.time() + 3600)

    await drive(agents, job(1))
    assert not stale.path.exists() and str(stale.path) not in _listed(tmp_path)
    assert running.path.exists() and str(running.path) in _listed(tmp_path)


async def test_a_running_attempt_marks_its_worktree_with_its_timeout(tmp_path: Path) -> None:
    """While it runs, the note beside the tree says the attempt's timeout, plus a margin."""
    agents = _agents(tmp_path, attempt_timeout_minutes=2)
    seen: list[float] = []

    async def look(update: Update) -> None:
        note = _tree(tmp_path, 1).with_name("opsbot-agent-1-1.expires")
        if note.exists() and not seen:
            seen.append(float(json.loads(note.read_text())["at"]))

    backend = create_backend(agents.backends[0], BackendEnv(agents=agents, public_url=None))
    started = time.time()
    await backend.drive(job(1), look)
    assert seen and started + 120 < seen[0] <= time.time() + 120 + worktrees.MARGIN_SECONDS


async def test_attempts_side_by_side_add_and_remove_their_worktrees(tmp_path: Path) -> None:
    """Attempts of one request start at once on one repository. Unserialised, one's
    `git worktree prune` removes what another's `git worktree add` is still creating."""
    checkout = str(make_repo(tmp_path / "checkout"))
    root = tmp_path / "trees"
    root.mkdir()

    async def attempt(number: int) -> None:
        tree = await gitwork.add_worktree(checkout, root, f"opsbot/agent-1-{number}", None)
        await gitwork.remove_worktree(checkout, tree.path)

    for _ in range(ROUNDS):
        await asyncio.gather(*(attempt(number) for number in range(1, 11)))
    assert "opsbot-agent" not in _listed(tmp_path)


async def test_a_tree_whose_checkout_is_gone_is_swept_all_the_same(tmp_path: Path) -> None:
    """A mirror directory cleared, or a checkout dropped from the settings: git has nothing to
    say about the tree, which goes anyway, so that no later sweep stops at it."""
    tree = tmp_path / "trees" / "octo-org__octo-repo" / "opsbot-agent-3-1"
    tree.mkdir(parents=True)
    (tree / "NOTES.md").write_text("left behind\n")
    worktrees.expire_at(tree, str(tmp_path / "gone"), time.time() - 1)
    assert await worktrees.sweep(tmp_path / "trees") == [tree]
    assert not tree.exists() and list((tmp_path / "trees").glob("*/*.expires")) == []


async def test_the_repository_lock_is_the_bots_own_file(tmp_path: Path) -> None:
    """The agent reads the repository's git directory: a lock there, it could hold for ever."""
    checkout = make_repo(tmp_path / "checkout")
    tree = await gitwork.add_worktree(str(checkout), tmp_path, "opsbot/agent-1-1", None)
    await gitwork.remove_worktree(str(checkout), tree.path)
    assert not list(checkout.rglob("*.lock"))
    assert gitwork.LOCKS.stat().st_mode & 0o777 == 0o700
    assert list(gitwork.LOCKS.glob("*.lock"))


async def test_a_drive_canceled_as_it_reports_its_result_still_removes_its_tree(
    tmp_path: Path,
) -> None:
    """The runner stops a drive once its row is final, which the drive's own result makes it:
    the removal that follows the result must finish all the same."""
    agents = _agents(tmp_path)
    backend = create_backend(agents.backends[0], BackendEnv(agents=agents, public_url=None))
    drive_task: asyncio.Task[None] | None = None

    async def emit(update: Update) -> None:
        if update.state == m.COMPLETED and drive_task is not None:
            drive_task.cancel()  # as the runner does, once it reads the final state

    drive_task = asyncio.create_task(backend.drive(job(1), emit))
    with contextlib.suppress(asyncio.CancelledError):
        await drive_task
    tree = _tree(tmp_path, 1)
    for _ in range(200):
        if not tree.exists() and not list((tmp_path / "trees").glob("*/*.expires")):
            break
        await asyncio.sleep(0.05)
    assert not tree.exists() and list((tmp_path / "trees").glob("*/*")) == []
    assert str(tree) not in _listed(tmp_path)
