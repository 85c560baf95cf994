"""Git plumbing for the command backend: a fresh worktree per attempt, then commit and push."""

from __future__ import annotations

import asyncio
import os
import shutil
from dataclasses import dataclass
from pathlib import Path

GIT_IDENTITY = ("-c", "user.name=opsbot", "-c", "user.email=opsbot@localhost")


class GitError(Exception):
    pass


async def git(cwd: str | Path, *args: str, check: bool = True) -> str:
    process = await asyncio.create_subprocess_exec(
        "git",
        *args,
        cwd=str(cwd),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        env={**os.environ, "GIT_TERMINAL_PROMPT": "0"},
    )
    out, err = await process.communicate()
    if check and process.returncode != 0:
        command = " ".join(args[:3])
        raise GitError(f"git {command} failed: {err.decode(errors='replace').strip()[:400]}")
    return out.decode(errors="replace")


async def has_remote(checkout: str, name: str = "origin") -> bool:
    return name in (await git(checkout, "remote")).split()


async def resolve_base(checkout: str, base: str | None) -> str:
    """The commit-ish to branch from: the requested branch (remote first), else HEAD."""
    if base is None:
        return (await git(checkout, "rev-parse", "HEAD")).strip()
    for ref in (f"origin/{base}", base):
        out = await git(checkout, "rev-parse", "--verify", "--quiet", ref, check=False)
        if out.strip():
            return out.strip()
    raise GitError(f"base branch {base!r} does not exist in the checkout")


@dataclass(frozen=True)
class Worktree:
    checkout: str
    path: Path
    branch: str
    base: str


async def add_worktree(checkout: str, root: Path, branch: str, base: str | None) -> Worktree:
    """A clean worktree on `branch`, reset to the base (a re-run starts over)."""
    if await has_remote(checkout):
        await git(checkout, "fetch", "--quiet", "origin", check=False)
    base_sha = await resolve_base(checkout, base)
    path = root / branch.replace("/", "-")
    if path.exists():
        await remove_worktree(checkout, path)
    await git(checkout, "worktree", "prune")
    await git(checkout, "worktree", "add", "--quiet", "-B", branch, str(path), base_sha)
    return Worktree(checkout, path, branch, base_sha)


async def remove_worktree(checkout: str, path: Path) -> None:
    await git(checkout, "worktree", "remove", "--force", str(path), check=False)
    shutil.rmtree(path, ignore_errors=True)
    await git(checkout, "worktree", "prune", check=False)


async def commit_all(tree: Worktree, message: str, leave_out: tuple[str, ...] = ()) -> bool:
    """Commit whatever the agent changed, but for its own scratch files (`leave_out`, glob
    patterns at the top of the tree); False when it changed nothing."""
    excluded = [f":(exclude,glob){p}{tail}" for p in leave_out for tail in ("", "/**")]
    await git(tree.path, "add", "-A", "--", ".", *excluded)
    if not (await git(tree.path, "diff", "--cached", "--name-only")).strip():
        return (await git(tree.path, "rev-parse", "HEAD")).strip() != tree.base
    await git(tree.path, *GIT_IDENTITY, "commit", "--quiet", "-m", message)
    return True


async def numstat(tree: Worktree) -> str:
    return await git(tree.path, "diff", "--numstat", tree.base, "HEAD")


async def push(tree: Worktree) -> None:
    await git(tree.path, "push", "--quiet", "--force", "origin", f"HEAD:refs/heads/{tree.branch}")
