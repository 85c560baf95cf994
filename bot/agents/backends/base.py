"""The one interface every agent backend implements, and the values that cross it.

A backend knows how to start a task, feed it an answer, pick it up again after a restart and
cancel it. It reports through `emit(Update)`; the runner turns updates into rows and cards, so a
backend knows nothing of Slack or the database. A new kind is a new module in this package with
`create(config, env) -> Backend`.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Protocol

from bot.agents.settings import AgentBackend, AgentsConfig


class BackendUnavailable(Exception):
    """The backend could not be reached or dropped the connection; worth retrying."""


class BackendRejected(Exception):
    """The backend answered but refused the work; retrying would not help."""


@dataclass(frozen=True)
class Outcome:
    summary: str | None = None
    pr_url: str | None = None
    branch: str | None = None
    diff_stat: str | None = None
    diff_preview: str | None = None
    patch: str | None = None
    transcript: str | None = None
    files_changed: int | None = None
    lines_added: int | None = None
    lines_removed: int | None = None
    tests: str | None = None


@dataclass(frozen=True)
class Update:
    """One thing the backend learned. Fields left None change nothing."""

    state: str | None = None
    step: str | None = None
    question: str | None = None
    backend_task_id: str | None = None
    branch: str | None = None
    outcome: Outcome | None = None
    error: str | None = None
    input_delivered: bool = False


@dataclass(frozen=True)
class Job:
    """Everything a backend needs to run (or resume) one attempt."""

    task_id: int
    request_id: int
    attempt: int
    attempts: int
    context_id: str
    payload: str
    instruction: str
    repo: str
    base_branch: str | None
    branch: str
    requester: str
    backend_task_id: str | None = None
    pending_input: str | None = None
    reference_task_ids: tuple[str, ...] = ()
    previous_branch: str | None = None
    thread_url: str | None = None  # the Slack thread the task came from
    push_token: str | None = None
    drive: int = 0
    meta: dict[str, object] = field(default_factory=dict)


Emit = Callable[[Update], Awaitable[None]]


class Backend(Protocol):
    name: str

    async def drive(self, job: Job, emit: Emit) -> None:
        """Start, answer or resume the task; return once it is finished or waits for input."""

    async def cancel(self, job: Job) -> None:
        """Ask the backend to stop the task (it may already be gone)."""


@dataclass(frozen=True)
class BackendEnv:
    """What the bot gives every backend: its settings and where pushes come back."""

    agents: AgentsConfig
    public_url: str | None


BackendFactory = Callable[[AgentBackend, BackendEnv], Backend]


# ---------------------------------------------------------------- diffs, shared by backends

_DIFF_FILE = re.compile(r"^diff --git a/(\S+) b/(\S+)", re.MULTILINE)


@dataclass(frozen=True)
class DiffNumbers:
    files: dict[str, tuple[int, int]]

    @property
    def added(self) -> int:
        return sum(plus for plus, _ in self.files.values())

    @property
    def removed(self) -> int:
        return sum(minus for _, minus in self.files.values())


def diff_numbers(diff: str) -> DiffNumbers:
    """Lines added and removed per file in a unified git diff."""
    files: dict[str, tuple[int, int]] = {}
    current: str | None = None
    for line in diff.splitlines():
        match = _DIFF_FILE.match(line)
        if match:
            current = match.group(2)
            files.setdefault(current, (0, 0))
            continue
        if current is None or line.startswith(("+++", "---")):
            continue
        plus, minus = files[current]
        if line.startswith("+"):
            files[current] = (plus + 1, minus)
        elif line.startswith("-"):
            files[current] = (plus, minus + 1)
    return DiffNumbers(files)


def numstat_numbers(numstat: str) -> DiffNumbers:
    """The same numbers from `git diff --numstat` (binary files count as 0/0)."""
    files: dict[str, tuple[int, int]] = {}
    for line in numstat.splitlines():
        parts = line.split("\t")
        if len(parts) < 3:
            continue
        plus, minus = (int(p) if p.isdigit() else 0 for p in parts[:2])
        files[parts[2]] = (plus, minus)
    return DiffNumbers(files)


def stat_text(numbers: DiffNumbers, limit: int = 20) -> str:
    """A short `git diff --stat`-like text: one line per file, then the totals."""
    lines = [f"{path} | +{plus} -{minus}" for path, (plus, minus) in list(numbers.files.items())]
    if len(lines) > limit:
        lines = [*lines[:limit], f"... and {len(lines) - limit} more files"]
    count = len(numbers.files)
    lines.append(
        f"{count} file{'s' if count != 1 else ''} changed, +{numbers.added} -{numbers.removed}"
    )
    return "\n".join(lines)


def outcome_from_diff(
    numbers: DiffNumbers,
    *,
    summary: str | None,
    branch: str | None,
    tests: str | None = None,
    pr_url: str | None = None,
    preview: str | None = None,
    patch: str | None = None,
    transcript: str | None = None,
) -> Outcome:
    return Outcome(
        summary=summary,
        pr_url=pr_url,
        branch=branch,
        diff_stat=stat_text(numbers),
        diff_preview=preview,
        patch=patch,
        transcript=transcript,
        files_changed=len(numbers.files),
        lines_added=numbers.added,
        lines_removed=numbers.removed,
        tests=tests,
    )
