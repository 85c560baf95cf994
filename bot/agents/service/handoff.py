"""Work another feature hands to the agents, and what it tells them back about the attempts.

A CI breakage's card asks the agents to fix it: the CI feature prepares the prompt (failing
jobs, log tail, suspect commits and their diff, redacted) and calls `hand_off`, which records an
ordinary request in the card's thread. CI runs on an attempt's branch are reported with
`record_branch_run`, so the comparison can mark the attempts CI found green or red. Other
features reach these through `bot.agents.service` only, and the agents import none of them:
the dependency points one way.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping
from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.agents import models as m
from bot.agents.models import AgentRequest, AgentTask
from bot.agents.service.parsing import (
    MAX_ATTEMPTS,
    Catalog,
    Spec,
    check_backend,
    parse_attempts,
)
from bot.agents.settings import SECTION as AGENTS
from bot.config import Settings

# The `source` of every request made by `hand_off`: its comparison is posted even for one
# attempt, since that is where its reviewers are asked.
HANDOFF = "handoff"
GREEN, RED = "green", "red"
_ATTEMPT_BRANCH = re.compile(r"^opsbot/agent-(\d{1,12})-(\d{1,3})$")


@dataclass(frozen=True)
class Handoff:
    """A task prepared by another feature, to be run as `attempts` attempts in a thread."""

    instruction: str  # one line, shown on the cards
    prompt: str  # exactly what the agents are sent, already redacted by the caller
    about: str  # how "Show what was sent" describes it
    repo: str
    base_branch: str | None
    attempts: int
    channel: str
    thread_ts: str
    requester: str
    backend: str | None = None
    reviewers: tuple[str, ...] = ()
    redactions: Mapping[str, int] = field(default_factory=dict)
    # (view kind, record id) of the other feature's view that shows this request, redrawn as
    # its attempts change: it watches them with `request_watches(kind)`.
    watch: tuple[str, str] | None = None


@dataclass(frozen=True)
class BranchRun:
    """A completed CI run on a branch, as the CI provider reported it."""

    repo: str
    branch: str
    sha: str
    workflow: str
    outcome: str  # GREEN or RED
    url: str | None
    created_at: dt.datetime


@dataclass(frozen=True)
class AttemptBrief:
    attempt: int
    state: str
    branch: str | None
    ci_state: str | None
    ci_sha: str | None
    pr_url: str | None
    changed: bool  # whether it left a change of its own (files changed)


def default_repo(settings: Settings, channel: str | None) -> str | None:
    """The repository the agents work on for a hand-off from `channel` that names none: the
    channel's default (`agents.repos`), else the only repository they know; None when that
    does not decide it."""
    catalog = Catalog.from_config(settings.section(AGENTS))
    chosen = catalog.repos_by_channel.get(channel or "")
    if chosen:
        return chosen
    return next(iter(catalog.known_repos)) if len(catalog.known_repos) == 1 else None


def known_repos(settings: Settings) -> list[str]:
    """The repositories the agents work on, sorted (none without a backend)."""
    agents = settings.section(AGENTS)
    return sorted(Catalog.from_config(agents).known_repos) if agents.backends else []


def handoff_choices(settings: Settings) -> tuple[tuple[str, ...], int]:
    """What a hand-off may pick: the configured backends' names (`agents.backends`, in order:
    the first is the default) and the most attempts it may ask for (as `attempts=` allows)."""
    return Catalog.from_config(settings.section(AGENTS)).backends, MAX_ATTEMPTS


def handoff_repo(settings: Settings, repo: str) -> str | None:
    """The repository as the agents name it, when they work on `repo` (`agents.repos` values
    and `agents.checkouts`, compared without case) and a backend is configured; else None."""
    agents = settings.section(AGENTS)
    if not agents.backends:
        return None
    known = Catalog.from_config(agents).known_repos
    return next((name for name in sorted(known) if name.lower() == repo.lower()), None)


async def hand_off(session: AsyncSession, handoff: Handoff, settings: Settings) -> int:
    """Record the request, its attempts and their start, with the prompt already prepared (the
    preparation step then sends it as it is). Raises `UsageError` for a backend or a number
    of attempts the configuration does not allow."""
    from bot.agents.service import create_request  # the service's core, which imports this

    catalog = Catalog.from_config(settings.section(AGENTS))
    spec = Spec(
        instruction=handoff.instruction,
        repo=handoff.repo,
        backend=check_backend(handoff.backend, catalog),
        attempts=parse_attempts(str(handoff.attempts)),
        base_branch=handoff.base_branch,
    )
    request = await create_request(
        session,
        spec,
        channel=handoff.channel,
        thread_ts=handoff.thread_ts,
        message_ts=None,
        requester=handoff.requester,
        source=HANDOFF,
    )
    request.sent_payload = handoff.prompt
    request.sent_meta = {"about": handoff.about, "redactions": dict(handoff.redactions)}
    request.reviewers = list(dict.fromkeys(handoff.reviewers))
    if handoff.watch is not None:
        request.watch_kind, request.watch_id = handoff.watch
    await session.flush()
    return request.id


def attempt_of_branch(branch: str) -> tuple[int, int] | None:
    """(request id, attempt) of an attempt's branch, `opsbot/agent-<request>-<attempt>`."""
    found = _ATTEMPT_BRANCH.match(branch)
    return (int(found.group(1)), int(found.group(2))) if found else None


async def record_branch_run(session: AsyncSession, run: BranchRun) -> bool:
    """Fold a CI run on an attempt's branch into the attempt; False when no attempt of that
    repository has the branch. The latest run of each workflow counts, on the newest commit:
    red when any of them is red, green when all are green."""
    found = attempt_of_branch(run.branch)
    if found is None:
        return False
    row = (
        await session.execute(
            select(AgentTask, AgentRequest)
            .join(AgentRequest, AgentRequest.id == AgentTask.request_id)
            .where(AgentTask.request_id == found[0], AgentTask.attempt == found[1])
            .with_for_update(of=AgentTask)
        )
    ).first()
    if row is None or row[1].repo.lower() != run.repo.lower():
        return False
    task: AgentTask = row[0]
    runs = dict(task.ci_runs or {})
    stamp = run.created_at.astimezone(dt.UTC).isoformat()
    earlier = runs.get(run.workflow)
    if earlier is not None and str(earlier.get("at")) > stamp:
        return True  # a late delivery of an older run: the newer one stands
    runs[run.workflow] = {"outcome": run.outcome, "sha": run.sha, "url": run.url, "at": stamp}
    newest = max(runs.values(), key=lambda item: str(item.get("at")))
    current = [item for item in runs.values() if item.get("sha") == newest.get("sha")]
    red = [item for item in current if item.get("outcome") == RED]
    task.ci_runs = runs
    task.ci_sha = str(newest.get("sha"))
    task.ci_state = RED if red else GREEN
    task.ci_url = (red[0] if red else newest).get("url")
    return True


async def attempts_of(session: AsyncSession, request_id: int) -> list[AttemptBrief]:
    rows = await session.scalars(
        select(AgentTask).where(AgentTask.request_id == request_id).order_by(AgentTask.attempt)
    )
    return [
        AttemptBrief(
            t.attempt, t.state, t.branch, t.ci_state, t.ci_sha, t.pr_url, bool(t.files_changed)
        )
        for t in rows
    ]


def all_finished(attempts: list[AttemptBrief]) -> bool:
    return bool(attempts) and all(a.state in m.TERMINAL for a in attempts)
