"""Handing a breakage to coding agents, and crediting the attempt that fixed it.

`FIX_TASK` reads what GitHub knows of the failure (the run's failing jobs and steps, the end of
each failing job's log, the suspects' diff; with `ci.github_token`), builds the prompt and hands
it to the agents through their service, in the card's thread. `CREDIT_TASK` runs once the branch
is green again and decides which attempt the green commit holds (the rule is in
`bot.ci.service.fixes`). Both are safe to run again: a handed or credited request is left alone.
"""

from __future__ import annotations

import logging
import re
from typing import TYPE_CHECKING, Any

from bot.agents import service as agents
from bot.ci.github import api
from bot.ci.models import CiFixRequest
from bot.ci.service import fixes
from bot.ci.service.fixes import CreditJob, FixJob
from bot.ci.service.prompt import FailingJob, FileDiff, FixBrief, SuspectCommit, build_prompt
from bot.ci.settings import SECTION as CI
from bot.config import reveal
from bot.core.commands import UsageError
from bot.core.db import transaction

if TYPE_CHECKING:
    from bot.feature import FeatureContext

log = logging.getLogger(__name__)
MAX_JOBS = 3  # failing jobs whose logs are read; the others are only named
FAILED_CONCLUSIONS = ("failure", "timed_out", "startup_failure")
_PULL_URL = re.compile(r"/([^/]+/[^/]+)/pull/(\d+)(?:$|[/?#])")


class FixPreparer:
    """The `ci.fix` task: gather, build, hand over."""

    def __init__(self, rt: FeatureContext) -> None:
        self.rt = rt

    async def __call__(self, payload: dict[str, Any]) -> None:
        fix_id = int(payload["fix_id"])
        async with self.rt.sessions() as session:
            job = await fixes.job(session, fix_id)
        if job is None:
            return
        repo = agents.handoff_repo(self.rt.settings, job.pipeline.repo)
        problem = _cannot_start(job, repo)
        if problem is not None or repo is None:
            await self._fail(fix_id, problem or "no repository")
            return
        brief = await self._brief(job)
        config = self.rt.settings.section(CI)
        prompt = build_prompt(brief, log_lines=config.fix_log_lines, max_chars=config.fix_max_chars)
        backend = job.fix.backend or config.fix_backend  # the one picked in the form
        handoff = _handoff(job, repo, brief, prompt.text, prompt.redactions, backend)
        left_out = "; ".join(brief.left_out) or None
        async with transaction(self.rt.sessions) as session:
            if not await fixes.still_preparing(session, fix_id):
                return
            try:
                request_id = await agents.hand_off(session, handoff, self.rt.settings)
            except UsageError as refusal:
                await fixes.failed(session, fix_id, str(refusal))
                return
            await fixes.handed(session, fix_id, request_id, left_out)

    async def _fail(self, fix_id: int, problem: str) -> None:
        async with transaction(self.rt.sessions) as session:
            await fixes.failed(session, fix_id, problem)

    async def _brief(self, job: FixJob) -> FixBrief:
        config = self.rt.settings.section(CI)
        token = reveal(config.github_token)
        left_out: list[str] = []
        jobs: tuple[FailingJob, ...] | None = None
        files: tuple[FileDiff, ...] | None = None
        if job.pipeline.provider != "github":
            left_out.append(f"logs and diff are read from GitHub only ({job.pipeline.provider})")
        elif not token:
            left_out.append("logs and diff were not fetched: no ci.github_token is set")
        else:
            jobs = await _failing_jobs(job, token, config.github_api_url, left_out)
            files = await _diff(job, token, config.github_api_url, left_out)
        return _brief_of(job, jobs, files, tuple(left_out))


def _cannot_start(job: FixJob, repo: str | None) -> str | None:
    if job.breakage.status != "open":
        return "the branch turned green before the agents started"
    if repo is None:
        return f"the agents do not work on {job.pipeline.repo} (agents.repos)"
    return None


async def _failing_jobs(
    job: FixJob, token: str, api_url: str, left_out: list[str]
) -> tuple[FailingJob, ...] | None:
    run_id = job.red_run.external_id
    if not run_id.isdigit():
        left_out.append("the failing run is not a GitHub Actions run: no jobs or logs")
        return None
    listed = await api.run_jobs(job.pipeline.repo, run_id, token, api_url)
    if listed is None:
        left_out.append("GitHub did not list the run's jobs")
        return None
    failing = [item for item in listed if item.conclusion in FAILED_CONCLUSIONS]
    found = []
    for index, item in enumerate(failing):
        log_text = (
            await api.job_log(job.pipeline.repo, item.id, token, api_url)
            if index < MAX_JOBS
            else None
        )
        if index < MAX_JOBS and log_text is None:
            left_out.append(f"the log of job {item.name} could not be fetched")
        steps = tuple(f"#{step.number} {step.name}" for step in item.failed_steps)
        found.append(FailingJob(item.name, item.conclusion, item.url, steps, log_text))
    return tuple(found)


async def _diff(
    job: FixJob, token: str, api_url: str, left_out: list[str]
) -> tuple[FileDiff, ...] | None:
    base, head = job.breakage.last_green_sha, job.first_red.sha
    if not base or base == head:
        left_out.append("no earlier green commit is known, so no diff")
        return None
    found = await api.compare(job.pipeline.repo, base, head, token, api_url)
    if found is None:
        left_out.append("GitHub did not give the suspects' diff")
        return None
    return tuple(FileDiff(f.filename, f.status, f.patch) for f in found.files)


def _brief_of(
    job: FixJob,
    jobs: tuple[FailingJob, ...] | None,
    files: tuple[FileDiff, ...] | None,
    left_out: tuple[str, ...],
) -> FixBrief:
    run = job.red_run
    label = f"run #{run.number or run.external_id}" + (
        f" attempt {run.attempt}" if run.attempt > 1 else ""
    )
    suspects = tuple(
        SuspectCommit(s.sha, s.message, s.author_name or s.author_login or s.author_email)
        for s in job.suspects
    )
    return FixBrief(
        repo=job.pipeline.repo,
        branch=job.pipeline.branch,
        workflow=job.pipeline.workflow,
        provider=job.pipeline.provider,
        requester=job.fix.requested_by,
        red_sha=run.sha,
        conclusion=run.conclusion,
        run_url=run.url,
        run_label=label,
        last_green_sha=job.breakage.last_green_sha,
        jobs=jobs,
        suspects=suspects,
        files=files,
        left_out=left_out,
    )


def _handoff(
    job: FixJob,
    repo: str,
    brief: FixBrief,
    prompt: str,
    redactions: dict[str, int],
    backend: str | None,
) -> agents.Handoff:
    failing = len(brief.jobs or ())
    about = (
        f"CI breakage of {repo} {brief.branch}: {failing} failing job(s) with their log tails, "
        f"{len(brief.suspects)} suspect commit(s)"
        + (" and their diff" if brief.files is not None else "")
    )
    return agents.Handoff(
        instruction=f"Fix the red CI of {repo} {brief.branch} ({brief.workflow[:80]})",
        prompt=prompt,
        about=about,
        repo=repo,
        base_branch=brief.branch,
        attempts=job.fix.attempts,
        channel=job.fix.channel,
        thread_ts=job.fix.thread_ts,
        requester=job.fix.requested_by,
        backend=backend,
        reviewers=tuple(job.fix.reviewers or ()),
        redactions=redactions,
    )


# ------------------------------------------------------------------ crediting


class FixCredit:
    """The `ci.fix_credit` task: which attempt, if any, the green commit holds."""

    def __init__(self, rt: FeatureContext) -> None:
        self.rt = rt

    async def __call__(self, payload: dict[str, Any]) -> None:
        breakage_id = int(payload["breakage_id"])
        async with self.rt.sessions() as session:
            job = await fixes.credit_job(session, breakage_id)
            if job is None:
                return
            attempts = {
                fix.id: await agents.attempts_of(session, fix.agent_request_id)
                for fix in job.fixes
                if fix.agent_request_id is not None
            }
        for fix in job.fixes:
            try:
                fixed, note = await self._decide(job, fix, attempts.get(fix.id, []))
            except Exception:  # the same input fails the same way: retrying would not decide
                log.exception("ci: crediting fix request %s failed", fix.id)
                fixed, note = [], fixes.NOT_CHECKED
            async with transaction(self.rt.sessions) as session:
                await fixes.credit(session, fix.id, fixed, note)

    async def _decide(
        self, job: CreditJob, fix: CiFixRequest, attempts: list[agents.AttemptBrief]
    ) -> tuple[list[int], str | None]:
        if job.breakage.status == "flaky":
            return [], "the failure was flaky: no change fixed it"
        found = fixes.candidates(job, attempts)
        exact = fixes.same_commit(job.green_sha, found)
        if exact or not found or not job.green_sha:
            return exact, None
        config = self.rt.settings.section(CI)
        token = reveal(config.github_token)
        if job.provider != "github" or not token:
            return [], "only an attempt whose own commit turned green counts (no GitHub token)"
        held: list[int] = []
        unsure: list[int] = []  # GitHub could not tell: not credited, and the card says why
        for attempt in found:
            holds = await _holds(job.repo, job.green_sha, attempt, token, config.github_api_url)
            if holds:
                held.append(attempt.attempt)
            elif holds is None:
                unsure.append(attempt.attempt)
        if held or not unsure:
            return held, None
        return [], f"GitHub could not say whether {_attempts(unsure)} is in it"


def _attempts(numbers: list[int]) -> str:
    named = [f"attempt {n}" for n in numbers]
    return named[0] if len(named) == 1 else ", ".join(named[:-1]) + " or " + named[-1]


async def _holds(
    repo: str, green: str, attempt: agents.AttemptBrief, token: str, api_url: str
) -> bool | None:
    """Whether the green commit holds the attempt's head, or its merged pull request (None:
    GitHub could not tell, and nothing it did tell holds it)."""
    answers: list[bool | None] = []
    if attempt.ci_sha:
        answers.append(await api.contains(repo, attempt.ci_sha, green, token, api_url))
    number = _pull_number(repo, attempt.pr_url)
    if True not in answers and number is not None:
        answers.append(await _merge_held(repo, number, green, token, api_url))
    if True in answers:
        return True
    return None if None in answers else False


async def _merge_held(repo: str, number: int, green: str, token: str, api_url: str) -> bool | None:
    """Whether the green commit holds pull request `number`'s merge (None: GitHub could not
    tell; False: not merged, or not held)."""
    merged = await api.pull(repo, number, token, api_url)
    if merged is None:
        return None
    if not merged.merged or not merged.merge_commit_sha:
        return False
    if merged.merge_commit_sha == green:
        return True
    return await api.contains(repo, merged.merge_commit_sha, green, token, api_url)


def _pull_number(repo: str, url: str | None) -> int | None:
    """The number of a pull request of `repo` from its address; None for another repository's
    (its number would name a different pull request of `repo`)."""
    found = _PULL_URL.search(url or "")
    if found is None or found.group(1).lower() != repo.lower():
        return None
    return int(found.group(2))
