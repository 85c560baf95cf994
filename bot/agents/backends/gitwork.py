"""Git plumbing for the command backend: a mirror per repository, a fresh worktree per attempt,
then commit and push.

The forge's token never goes in a URL, an argument or a repository's config (where an agent
or `ps` could read it): git is given it for one command, as an HTTP header in its environment
(`GIT_CONFIG_*`), with GitHub's user name for tokens (GitLab takes any user name).
"""

from __future__ import annotations

import asyncio
import base64
import fcntl
import hashlib
import os
import shutil
import tempfile
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

AGENT_BRANCHES = "opsbot/*"  # every attempt's branch: opsbot/agent-<request>-<attempt>
GIT_IDENTITY = ("-c", "user.name=opsbot", "-c", "user.email=opsbot@localhost")


class GitError(Exception):
    pass


def forge_credentials(token: str | None) -> dict[str, str]:
    """What git needs in its environment to fetch and push with `token` over HTTPS."""
    if not token:
        return {}
    basic = base64.b64encode(f"x-access-token:{token}".encode()).decode()
    return {
        "GIT_CONFIG_COUNT": "1",
        "GIT_CONFIG_KEY_0": "http.extraHeader",
        "GIT_CONFIG_VALUE_0": f"Authorization: Basic {basic}",
    }


async def git(
    cwd: str | Path, *args: str, check: bool = True, auth: Mapping[str, str] | None = None
) -> str:
    process = await asyncio.create_subprocess_exec(
        "git",
        *args,
        cwd=str(cwd),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        env={**os.environ, "GIT_TERMINAL_PROMPT": "0", **(auth or {})},
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


async def in_tree(tree: Worktree, *args: str, auth: Mapping[str, str] | None = None) -> str:
    """git in the worktree, told where its git directory is. An agent can rewrite the tree's
    `.git` file to point at a directory of its own, whose config (core.fsmonitor, hooks) git
    would run as the bot: the directory found at creation is used instead."""
    place = (f"--git-dir={tree.git_dir}", f"--work-tree={tree.path}")
    return await git(tree.path, *place, *args, auth=auth)


async def mirror(url: str, path: Path, auth: Mapping[str, str]) -> str:
    """A bare copy of the repository at `url` in `path`, its branches as the forge has them:
    cloned the first time, fetched after. Worktrees are made from it; nobody keeps a clone."""
    async with repository_lock(str(path)):
        if not (path / "HEAD").exists():
            path.parent.mkdir(parents=True, exist_ok=True)
            partial = path.with_name(path.name + ".partial")
            await asyncio.to_thread(shutil.rmtree, partial, True)
            await git(path.parent, "clone", "--quiet", "--bare", url, str(partial), auth=auth)
            # Branches are fetched as branches (a bare clone's refspec); pushes name theirs.
            # The attempts' own branches are not: git refuses to fetch into a branch checked
            # out in a worktree, and the mirror has their latest commits already.
            await git(partial, "config", "remote.origin.fetch", "+refs/heads/*:refs/heads/*")
            await git(
                partial, "config", "--add", "remote.origin.fetch", f"^refs/heads/{AGENT_BRANCHES}"
            )
            partial.rename(path)
        else:
            await git(path, "fetch", "--quiet", "--prune", "origin", auth=auth)
    return str(path)


_repositories: dict[str, asyncio.Lock] = {}
LOCKS = Path(tempfile.gettempdir()) / f"opsbot-locks-{os.getuid()}"


@asynccontextmanager
async def repository_lock(checkout: str) -> AsyncIterator[None]:
    """One change at a time to a repository's worktrees and remote branches. Attempts run side
    by side on one repository: `git worktree prune` by one removes the administrative
    directory of a worktree another is still adding (before git marks it locked), and two
    fetches race on the same refs. A lock in this process, and a file lock for other
    processes on this host. The lock files are the bot's own, outside every repository: an
    agent, which reads the repository's git directory, must not be able to hold one."""
    async with _repositories.setdefault(checkout, asyncio.Lock()):
        descriptor = await asyncio.to_thread(_open_lock, checkout)
        try:
            await asyncio.to_thread(fcntl.flock, descriptor, fcntl.LOCK_EX)
            yield
        finally:
            os.close(descriptor)  # closing it lets go of the lock


def own_directory(path: Path) -> Path:
    """`path`, made if missing, when it is a directory of the bot's user alone: a shared
    temporary directory could hold one another user made first, or a link to elsewhere."""
    path.mkdir(mode=0o700, parents=True, exist_ok=True)
    if path.is_symlink() or path.stat().st_uid != os.getuid():
        raise GitError(f"{path} is not the bot's own directory: refusing to use it")
    return path


def _open_lock(checkout: str) -> int:
    """The lock file of the repository at `checkout`, in the bot's own directory."""
    name = hashlib.sha256(os.path.abspath(checkout).encode()).hexdigest()[:32]
    own_directory(LOCKS)
    return os.open(LOCKS / f"{name}.lock", os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW, 0o600)


async def add_worktree(
    checkout: str,
    root: Path,
    branch: str,
    base: str | None,
    auth: Mapping[str, str] | None = None,
    *,
    fetch: bool = True,
) -> Worktree:
    """A clean worktree on `branch`, reset to the base (a re-run starts over). `fetch=False`:
    the checkout was just fetched (a mirror)."""
    async with repository_lock(checkout):
        if fetch and await has_remote(checkout):
            await git(checkout, "fetch", "--quiet", "origin", check=False, auth=auth)
        base_sha = await resolve_base(checkout, base)
        path = root / branch.replace("/", "-")
        if path.exists():
            await _remove(checkout, path)
        await git(checkout, "worktree", "prune")
        await git(checkout, "worktree", "add", "--quiet", "-B", branch, str(path), base_sha)
    git_dir, common_dir = await git_dirs(path)
    return Worktree(checkout, path, branch, base_sha, git_dir, common_dir)


async def remove_worktree(checkout: str, path: Path) -> None:
    async with repository_lock(checkout):
        await _remove(checkout, path)


async def _remove(checkout: str, path: Path) -> None:
    await git(checkout, "worktree", "remove", "--force", str(path), check=False)
    await asyncio.to_thread(shutil.rmtree, path, True)
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


async def patch(tree: Worktree) -> str:
    """The change as a unified diff, from the base to the attempt's commit."""
    return await in_tree(tree, "diff", "--no-color", "--no-ext-diff", tree.base, "HEAD")


def preview(patch: str, lines: int, chars: int) -> str:
    """The first `lines` lines of the change (at most `chars` characters)."""
    return "\n".join(patch.splitlines()[:lines])[:chars]


async def numstat(tree: Worktree) -> str:
    return await in_tree(tree, "diff", "--numstat", tree.base, "HEAD")


async def push(tree: Worktree, auth: Mapping[str, str] | None = None) -> None:
    refspec = f"HEAD:refs/heads/{tree.branch}"
    await in_tree(tree, "push", "--quiet", "--force", "origin", refspec, auth=auth)
