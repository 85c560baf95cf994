"""GitHub's REST API, as the CI feature reads it: the commits and diff between two commits
(suspects), the jobs of a workflow run and a job's log (what agents asked to fix a breakage are
given), and whether a commit or a pull request made it into a later commit (which attempt fixed
it).

Every call answers None when GitHub cannot tell (no access, an error, a timeout): callers go on
with what they have and say what they left out. Shapes are GitHub's own (its OpenAPI
description, API version 2022-11-28).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

import httpx

from bot.core.forges import github_headers

log = logging.getLogger(__name__)

API_URL = "https://api.github.com"
COMPARE_LIMIT = 50
# A job's log can be many megabytes: only its end is kept (the failing step is near it).
LOG_TAIL_BYTES = 256 * 1024
LOG_MAX_BYTES = 50 * 1024 * 1024
# `compare` statuses that mean the base commit is contained in the head.
CONTAINED = ("ahead", "identical")


@dataclass(frozen=True)
class FileChange:
    filename: str
    status: str
    patch: str | None  # GitHub leaves it out for binary and very large files


@dataclass(frozen=True)
class Comparison:
    status: str  # ahead, behind, diverged or identical
    commits: list[dict[str, Any]]
    files: list[FileChange]


@dataclass(frozen=True)
class Step:
    number: int
    name: str
    conclusion: str | None


@dataclass(frozen=True)
class Job:
    id: int
    name: str
    conclusion: str | None
    url: str | None
    steps: list[Step]

    @property
    def failed_steps(self) -> list[Step]:
        return [step for step in self.steps if step.conclusion in ("failure", "timed_out")]


@dataclass(frozen=True)
class Pull:
    merged: bool
    merge_commit_sha: str | None


def make_http_client(api_url: str = API_URL) -> httpx.AsyncClient:
    """One place to build the API client, so tests can point it at a GitHub stand-in."""
    return httpx.AsyncClient(base_url=api_url.rstrip("/"), timeout=10.0)


async def _get_json(path: str, token: str, api_url: str, **params: Any) -> Any:
    try:
        async with make_http_client(api_url) as client:
            response = await client.get(path, headers=github_headers(token), params=params or None)
        if response.status_code != 200:
            log.warning("github GET %s: HTTP %s", path, response.status_code)
            return None
        return response.json()
    except (httpx.HTTPError, ValueError) as error:
        log.warning("github GET %s failed: %r", path, error)
        return None


async def compare(
    repo: str, base: str, head: str, token: str, api_url: str = API_URL
) -> Comparison | None:
    """`GET /repos/{repo}/compare/{base}...{head}`: commits after `base` up to `head` (oldest
    first, at most COMPARE_LIMIT of the newest), and the files changed with their patches."""
    body = await _get_json(f"/repos/{repo}/compare/{base}...{head}", token, api_url)
    if not isinstance(body, dict):
        return None
    commits = [item for item in body.get("commits") or [] if isinstance(item, dict)]
    files = [
        FileChange(str(item.get("filename", "")), str(item.get("status", "")), item.get("patch"))
        for item in body.get("files") or []
        if isinstance(item, dict)
    ]
    return Comparison(str(body.get("status") or ""), commits[-COMPARE_LIMIT:], files)


async def contains(
    repo: str, ancestor: str, head: str, token: str, api_url: str = API_URL
) -> bool | None:
    """Whether commit `head` holds commit `ancestor` (None: GitHub could not say)."""
    found = await compare(repo, ancestor, head, token, api_url)
    return None if found is None else found.status in CONTAINED


def _job(item: dict[str, Any]) -> Job:
    steps = [
        Step(int(step.get("number") or 0), str(step.get("name") or ""), step.get("conclusion"))
        for step in item.get("steps") or []
        if isinstance(step, dict)
    ]
    return Job(
        id=int(item["id"]),
        name=str(item.get("name") or item["id"]),
        conclusion=item.get("conclusion"),
        url=item.get("html_url"),
        steps=steps,
    )


async def run_jobs(repo: str, run_id: str, token: str, api_url: str = API_URL) -> list[Job] | None:
    """`GET /repos/{repo}/actions/runs/{run_id}/jobs`: the jobs of the run's latest attempt."""
    body = await _get_json(
        f"/repos/{repo}/actions/runs/{run_id}/jobs", token, api_url, per_page=100
    )
    if not isinstance(body, dict):
        return None
    try:
        return [_job(item) for item in body.get("jobs") or [] if isinstance(item, dict)]
    except (KeyError, TypeError, ValueError) as error:
        log.warning("github jobs of run %s unreadable: %r", run_id, error)
        return None


async def job_log(repo: str, job_id: int, token: str, api_url: str = API_URL) -> str | None:
    """The end of a job's log. `GET /repos/{repo}/actions/jobs/{job_id}/logs` answers 302 to a
    short-lived download address of a plain text file, fetched without our token (it is
    another host's, and the address carries its own authorisation)."""
    path = f"/repos/{repo}/actions/jobs/{job_id}/logs"
    try:
        async with make_http_client(api_url) as client:
            response = await client.get(path, headers=github_headers(token))
            location = response.headers.get("location")
            if response.status_code != 302 or not location:
                log.warning("github job log %s: HTTP %s", job_id, response.status_code)
                return None
        return await _download_tail(location)
    except httpx.HTTPError as error:
        log.warning("github job log %s failed: %r", job_id, error)
        return None


async def _download_tail(url: str) -> str | None:
    tail, size = b"", 0
    async with (
        httpx.AsyncClient(timeout=30.0) as client,
        client.stream("GET", url, headers={"User-Agent": "opsbot"}) as response,
    ):
        if response.status_code != 200:
            log.warning("github job log download: HTTP %s", response.status_code)
            return None
        async for chunk in response.aiter_bytes():
            size += len(chunk)
            tail = (tail + chunk)[-LOG_TAIL_BYTES:]
            if size > LOG_MAX_BYTES:
                break  # what is beyond this is not worth the wait
    return tail.decode("utf-8", errors="replace")


async def pull(repo: str, number: int, token: str, api_url: str = API_URL) -> Pull | None:
    """`GET /repos/{repo}/pulls/{number}`: whether it was merged, and as which commit."""
    body = await _get_json(f"/repos/{repo}/pulls/{number}", token, api_url)
    if not isinstance(body, dict):
        return None
    return Pull(bool(body.get("merged")), body.get("merge_commit_sha"))
