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


async def git_dirs(tree: Path) -> tuple[Path, Path]:
    """A worktree's own git directory (its index and HEAD) and the one it shares with the
    repository (objects, refs)."""
    out = await git(tree, "rev-parse", "--absolute-git-dir", "--git-common-dir")
    own, common = out.splitlines()[:2]
    return Path(own), (tree / common).resolve()


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
    git_dir: Path  # its own git directory, found before any agent ran in it
    common_dir: Path  # the repository's, shared by every worktree


async def in_tree(tree: Worktree, *args: str) -> str:
    """git in the worktree, told where its git directory is. An agent can rewrite the tree's
    `.git` file to point at a directory of its own, whose config (core.fsmonitor, hooks) git
    would run as the bot: the directory found at creation is used instead."""
    return await git(tree.path, f"--git-dir={tree.git_dir}", f"--work-tree={tree.path}", *args)


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
    git_dir, common_dir = await git_dirs(path)
    return Worktree(checkout, path, branch, base_sha, git_dir, common_dir)


async def remove_worktree(checkout: str, path: Path) -> None:
    await git(checkout, "worktree", "remove", "--force", str(path), check=False)
    shutil.rmtree(path, ignore_errors=True)
    await git(checkout, "worktree", "prune", check=False)


async def commit_all(tree: Worktree, message: str, leave_out: tuple[str, ...] = ()) -> bool:
    """Commit whatever the agent changed, but for its own scratch files (`leave_out`, glob
    patterns at the top of the tree); False when it changed nothing."""
    excluded = [f":(exclude,glob){p}{tail}" for p in leave_out for tail in ("", "/**")]
    await in_tree(tree, "add", "-A", "--", ".", *excluded)
    if not (await in_tree(tree, "diff", "--cached", "--name-only")).strip():
        return (await in_tree(tree, "rev-parse", "HEAD")).strip() != tree.base
    await in_tree(tree, *GIT_IDENTITY, "commit", "--quiet", "--no-verify", "-m", message)
    return True


async def numstat(tree: Worktree) -> str:
    return await in_tree(tree, "diff", "--numstat", tree.base, "HEAD")


async def push(tree: Worktree) -> None:
    await in_tree(tree, "push", "--quiet", "--force", "origin", f"HEAD:refs/heads/{tree.branch}")
