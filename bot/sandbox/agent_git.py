"""Git for the sandbox agent: a throwaway repository and real edits on a branch per task."""

from __future__ import annotations

import asyncio
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

IDENTITY = ("-c", "user.name=Sandbox Agent", "-c", "user.email=agent@sandbox.test")


def make_repo(path: Path, files: dict[str, str] | None = None) -> Path:
    """A git repository with one commit on `main` (for tests and the demo)."""
    path.mkdir(parents=True, exist_ok=True)
    files = files or {
        "README.md": "# octo-repo\n\nA small service.\n",
        "NOTES.md": "# Notes\n",
        "src/login.py": "def login(user):\n    return user is not None\n",
    }
    subprocess.run(["git", "init", "--quiet", "-b", "main", str(path)], check=True)
    for name, content in files.items():
        target = path / name
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(content)
    subprocess.run(["git", "-C", str(path), "add", "-A"], check=True)
    subprocess.run(
        ["git", "-C", str(path), *IDENTITY, "commit", "--quiet", "-m", "Initial commit"],
        check=True,
    )
    return path


async def git(cwd: Path, *args: str) -> str:
    process = await asyncio.create_subprocess_exec(
        "git",
        *args,
        cwd=str(cwd),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await process.communicate()
    if process.returncode != 0:
        raise RuntimeError(f"git {' '.join(args[:2])}: {err.decode(errors='replace').strip()}")
    return out.decode(errors="replace")


@dataclass(frozen=True)
class Change:
    branch: str
    diff: str
    files: dict[str, tuple[int, int]]

    @property
    def added(self) -> int:
        return sum(plus for plus, _ in self.files.values())

    @property
    def removed(self) -> int:
        return sum(minus for _, minus in self.files.values())


async def edit_on_branch(
    repo: Path,
    trees: Path,
    branch: str,
    base: str | None,
    edits: dict[str, list[str]],
    message: str,
    lock: asyncio.Lock,
) -> Change:
    """Append lines to files in a worktree on `branch`, commit, and describe the diff."""
    tree = trees / branch.replace("/", "-")
    async with lock:  # worktree bookkeeping lives in the shared .git directory
        base_sha = (await git(repo, "rev-parse", base or "HEAD")).strip()
        if tree.exists():
            await git(repo, "worktree", "remove", "--force", str(tree))
        await git(repo, "worktree", "add", "--quiet", "-B", branch, str(tree), base_sha)
    try:
        for name, lines in edits.items():
            target = tree / name
            target.parent.mkdir(parents=True, exist_ok=True)
            existing = target.read_text() if target.exists() else ""
            if existing and not existing.endswith("\n"):
                existing += "\n"
            target.write_text(existing + "".join(line + "\n" for line in lines))
        await git(tree, "add", "-A")
        await git(tree, *IDENTITY, "commit", "--quiet", "-m", message)
        diff = await git(tree, "diff", base_sha, "HEAD")
        numstat = await git(tree, "diff", "--numstat", base_sha, "HEAD")
    finally:
        async with lock:
            await git(repo, "worktree", "remove", "--force", str(tree))
            shutil.rmtree(tree, ignore_errors=True)
    files = {}
    for line in numstat.splitlines():
        plus, minus, path = line.split("\t", 2)
        files[path] = (int(plus), int(minus))
    return Change(branch=branch, diff=diff, files=files)
