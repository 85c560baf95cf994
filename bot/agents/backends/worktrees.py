"""How long an attempt's worktree lives on the bot's host.

Each worktree has a note beside it (`<tree>.expires`: its checkout and when it may go). While
its attempt runs, that is the attempt's timeout from its start, plus a margin: a worktree whose
process was killed mid-attempt is then found and removed by the next sweep on that host. When
the attempt ends, the tree is removed at once, or kept `agents.worktree_keep_minutes` for a
look and removed then: by a timer in the process, or by the next sweep if the process is gone.
Sweeps run before each attempt on the host.
"""

from __future__ import annotations

import asyncio
import json
import logging
import shutil
import time
from collections.abc import Coroutine
from pathlib import Path
from typing import Any

from bot.agents.backends import gitwork

log = logging.getLogger(__name__)
SUFFIX = ".expires"
MARGIN_SECONDS = 300.0
_timers: set[asyncio.Task[Any]] = set()


def _note(tree: Path) -> Path:
    return tree.with_name(tree.name + SUFFIX)


def expire_at(tree: Path, checkout: str, at: float) -> None:
    _note(tree).write_text(json.dumps({"checkout": checkout, "at": at}))


def _due(root: Path, now: float) -> list[tuple[Path, str]]:
    found = []
    for note in sorted(root.glob(f"*/*{SUFFIX}")):
        try:
            data = json.loads(note.read_text())
            at, checkout = float(data["at"]), str(data["checkout"])
        except (OSError, ValueError, KeyError, TypeError):
            continue
        if at <= now:
            found.append((note.with_name(note.name[: -len(SUFFIX)]), checkout))
    return found


async def sweep(root: Path, now: float | None = None) -> list[Path]:
    """Remove the worktrees under `root` whose time is up; the ones removed."""
    due = await asyncio.to_thread(_due, root, time.time() if now is None else now)
    for tree, checkout in due:
        await remove(tree, checkout)
    return [tree for tree, _ in due]


async def remove(tree: Path, checkout: str) -> None:
    """Remove the worktree and its note. A checkout that is gone (a mirror directory cleared,
    a checkout taken out of the settings) leaves git nothing to tell: the tree goes all the
    same, so that a sweep never stops at it again."""
    try:
        await gitwork.remove_worktree(checkout, tree)
    except (OSError, gitwork.GitError) as error:
        log.warning("agents: worktree %s of %s: %s; removing its files", tree, checkout, error)
        await asyncio.to_thread(shutil.rmtree, tree, True)
    _note(tree).unlink(missing_ok=True)


async def ended(tree: Path, checkout: str, keep_minutes: float, root: Path) -> None:
    """The attempt in `tree` is over: remove it now, or when its keeping time is up.

    The removal finishes even when the drive is canceled meanwhile (the runner stops a drive
    as soon as its row is final, which this drive's own result makes it): a removal cut off
    halfway leaves a registered worktree, or a note, for a sweep much later."""
    if keep_minutes <= 0:
        await asyncio.shield(_kept(remove(tree, checkout)))
        return
    keep = keep_minutes * 60
    expire_at(tree, checkout, time.time() + keep)
    _kept(_sweep_after(root, keep))


def _kept(work: Coroutine[Any, Any, Any]) -> asyncio.Task[Any]:
    """A task of its own, referenced until it ends (the loop keeps only weak references)."""
    task = asyncio.create_task(work, name="agents-worktree")
    _timers.add(task)
    task.add_done_callback(_timers.discard)
    return task


async def _sweep_after(root: Path, seconds: float) -> list[Path]:
    await asyncio.sleep(seconds)
    return await sweep(root)
