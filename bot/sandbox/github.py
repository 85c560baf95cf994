"""A GitHub stand-in on loopback: the parts of GitHub's REST API the bot calls, in GitHub's own
shapes (its OpenAPI description, API version 2022-11-28), for the tests and the demo.

- `POST /repos/{o}/{r}/pulls`, `GET .../pulls?head=`, `GET .../pulls/{n}`: pull requests
  (`merge(n, sha)` marks one merged, as a person pressing Merge would);
- `GET /repos/{o}/{r}/compare/{base}...{head}`: `status`, `ahead_by`, `behind_by`, `commits`
  and `files[].patch`, computed by git from a real repository when one is given;
- `GET /repos/{o}/{r}/actions/runs/{run_id}/jobs`: `{total_count, jobs: [...]}` as set with
  `add_run`;
- `GET /repos/{o}/{r}/actions/jobs/{job_id}/logs`: 302 to a short-lived download address of
  the job's plain text log (set with `set_log`), served at `/_downloads/...`, which refuses a
  request that carries an `Authorization` header (the log host is not GitHub's API);
- `GET /repos/{o}/{r}`: `default_branch` and `clone_url`.

Every API request must carry a bearer token; `requests` records what was asked.
"""

from __future__ import annotations

import asyncio
import secrets
import subprocess
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, PlainTextResponse, RedirectResponse, Response

from bot.sandbox.embedded import Embedded


@dataclass
class Seen:
    method: str
    path: str
    authorization: str | None


@dataclass
class GitHubState:
    repo: Path | None = None  # a git repository (bare or not) answering compare
    pulls: list[dict[str, Any]] = field(default_factory=list)
    merged: dict[int, str] = field(default_factory=dict)
    runs: dict[int, list[dict[str, Any]]] = field(default_factory=dict)
    logs: dict[int, str] = field(default_factory=dict)
    downloads: dict[str, int] = field(default_factory=dict)
    requests: list[Seen] = field(default_factory=list)


def job(job_id: int, name: str, run_id: int, steps: list[tuple[str, str]]) -> dict[str, Any]:
    """A job as `GET .../actions/runs/{run_id}/jobs` lists it; `steps` are (name, conclusion),
    and the job failed when one of them did."""
    failed = any(conclusion == "failure" for _, conclusion in steps)
    return {
        "id": job_id,
        "run_id": run_id,
        "name": name,
        "status": "completed",
        "conclusion": "failure" if failed else "success",
        "html_url": f"https://github.com/octo-org/octo-repo/actions/runs/{run_id}/job/{job_id}",
        "steps": [
            {"name": step, "status": "completed", "conclusion": conclusion, "number": number}
            for number, (step, conclusion) in enumerate(steps, start=1)
        ],
    }


class GitHubStandIn:
    def __init__(self, repo: Path | None = None) -> None:
        self.state = GitHubState(repo=repo)
        self.serving = Embedded()
        self.port = self.serving.port

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    # -- what a test arranges --------------------------------------------------------

    def add_run(self, run_id: int, jobs: list[dict[str, Any]]) -> None:
        self.state.runs[run_id] = jobs

    def set_log(self, job_id: int, text: str) -> None:
        self.state.logs[job_id] = text

    def merge(self, number: int, sha: str) -> None:
        self.state.merged[number] = sha

    def asked(self, fragment: str) -> list[Seen]:
        return [seen for seen in self.state.requests if fragment in seen.path]

    # -- the API -----------------------------------------------------------------------

    def build_app(self) -> FastAPI:
        app = FastAPI()
        app.middleware("http")(self._record)
        app.post("/repos/{owner}/{name}/pulls")(self._create_pull)
        app.get("/repos/{owner}/{name}/pulls")(self._find_pulls)
        app.get("/repos/{owner}/{name}/pulls/{number}")(self._pull)
        app.get("/repos/{owner}/{name}/compare/{basehead}")(self._compare)
        app.get("/repos/{owner}/{name}/actions/runs/{run_id}/jobs")(self._jobs)
        app.get("/repos/{owner}/{name}/actions/jobs/{job_id}/logs")(self._log_redirect)
        app.get("/_downloads/{key}")(self._download)
        app.get("/repos/{owner}/{name}")(self._repository)
        return app

    async def _record(self, request: Request, call_next: Any) -> Any:
        authorization = request.headers.get("authorization")
        self.state.requests.append(Seen(request.method, request.url.path, authorization))
        if request.url.path.startswith("/_downloads/"):
            return await call_next(request)
        if not (authorization or "").startswith("Bearer "):
            return JSONResponse({"message": "Requires authentication"}, status_code=401)
        return await call_next(request)

    async def _create_pull(self, owner: str, name: str, request: Request) -> JSONResponse:
        fields = await request.json()
        self.state.pulls.append(fields)
        number = len(self.state.pulls)
        url = f"https://github.com/{owner}/{name}/pull/{number}"
        return JSONResponse({"html_url": url, "number": number, "draft": fields.get("draft")}, 201)

    async def _find_pulls(self, owner: str, name: str, head: str = "") -> JSONResponse:
        branch = head.partition(":")[2] or head
        found = [
            {"number": n, "html_url": f"https://github.com/{owner}/{name}/pull/{n}"}
            for n, pull in enumerate(self.state.pulls, start=1)
            if pull.get("head") == branch
        ]
        return JSONResponse(found)

    async def _pull(self, owner: str, name: str, number: int) -> JSONResponse:
        if not 1 <= number <= len(self.state.pulls):
            return JSONResponse({"message": "Not Found"}, status_code=404)
        pull = self.state.pulls[number - 1]
        merged = self.state.merged.get(number)
        return JSONResponse(
            {
                "number": number,
                "state": "closed" if merged else "open",
                "html_url": f"https://github.com/{owner}/{name}/pull/{number}",
                "head": {"ref": pull.get("head")},
                "base": {"ref": pull.get("base")},
                "draft": pull.get("draft", False),
                "merged": merged is not None,
                "merge_commit_sha": merged,
            }
        )

    async def _compare(self, owner: str, name: str, basehead: str) -> JSONResponse:
        base, _, head = basehead.partition("...")
        if self.state.repo is None or not head:
            return JSONResponse({"message": "Not Found"}, status_code=404)
        try:
            body = await asyncio.to_thread(compare_in_git, self.state.repo, base, head)
        except subprocess.CalledProcessError:
            return JSONResponse({"message": "Not Found"}, status_code=404)
        return JSONResponse(body)

    async def _jobs(self, owner: str, name: str, run_id: int) -> JSONResponse:
        if run_id not in self.state.runs:
            return JSONResponse({"message": "Not Found"}, status_code=404)
        jobs = self.state.runs[run_id]
        return JSONResponse({"total_count": len(jobs), "jobs": jobs})

    async def _log_redirect(self, owner: str, name: str, job_id: int) -> Response:
        if job_id not in self.state.logs:
            return JSONResponse({"message": "Not Found"}, status_code=404)
        key = secrets.token_urlsafe(12)
        self.state.downloads[key] = job_id
        return RedirectResponse(f"{self.url}/_downloads/{key}?sig=stand-in", status_code=302)

    async def _download(self, key: str, request: Request) -> Response:
        if request.headers.get("authorization"):
            return PlainTextResponse("the log host takes no API token", status_code=400)
        job_id = self.state.downloads.pop(key, None)  # short-lived: one download each
        if job_id is None:
            return PlainTextResponse("expired", status_code=404)
        return PlainTextResponse(self.state.logs[job_id])

    async def _repository(self, owner: str, name: str) -> JSONResponse:
        return JSONResponse(
            {
                "full_name": f"{owner}/{name}",
                "default_branch": "main",
                "clone_url": f"https://github.com/{owner}/{name}.git",
            }
        )

    # -- serving -------------------------------------------------------------------------

    async def __aenter__(self) -> GitHubStandIn:
        await self.serving.start(self.build_app())
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.serving.stop()


def _git(repo: Path, *args: str) -> str:
    done = subprocess.run(
        ["git", "-C", str(repo), *args], capture_output=True, text=True, check=True
    )
    return done.stdout


def _is_ancestor(repo: Path, older: str, newer: str) -> bool:
    found = subprocess.run(
        ["git", "-C", str(repo), "merge-base", "--is-ancestor", older, newer], check=False
    )
    return found.returncode == 0


def compare_in_git(repo: Path, base: str, head: str) -> dict[str, Any]:
    """GitHub's compare answer, from git: the commits after the merge base up to `head`
    (oldest first) and the files changed from the merge base, each with its patch."""
    base_sha = _git(repo, "rev-parse", "--verify", f"{base}^{{commit}}").strip()
    head_sha = _git(repo, "rev-parse", "--verify", f"{head}^{{commit}}").strip()
    ahead = int(_git(repo, "rev-list", "--count", f"{base_sha}..{head_sha}").strip())
    behind = int(_git(repo, "rev-list", "--count", f"{head_sha}..{base_sha}").strip())
    if base_sha == head_sha:
        status = "identical"
    elif _is_ancestor(repo, base_sha, head_sha):
        status = "ahead"
    elif _is_ancestor(repo, head_sha, base_sha):
        status = "behind"
    else:
        status = "diverged"
    merge_base = _git(repo, "merge-base", base_sha, head_sha).strip()
    return {
        "status": status,
        "ahead_by": ahead,
        "behind_by": behind,
        "total_commits": ahead,
        "base_commit": {"sha": base_sha},
        "merge_base_commit": {"sha": merge_base},
        "commits": _commits(repo, merge_base, head_sha),
        "files": _files(repo, merge_base, head_sha),
    }


def _commits(repo: Path, base: str, head: str) -> list[dict[str, Any]]:
    out = _git(repo, "log", "--reverse", "--format=%H%x1f%an%x1f%ae%x1f%B%x1e", f"{base}..{head}")
    commits = []
    for record in filter(str.strip, out.split("\x1e")):
        sha, name, email, message = record.strip("\n").split("\x1f", 3)
        commits.append(
            {
                "sha": sha,
                "html_url": f"https://github.com/octo-org/octo-repo/commit/{sha}",
                "commit": {"author": {"name": name, "email": email}, "message": message.strip()},
                "author": None,
            }
        )
    return commits


STATUSES = {"A": "added", "M": "modified", "D": "removed", "R": "renamed", "C": "copied"}


def _files(repo: Path, base: str, head: str) -> list[dict[str, Any]]:
    files = []
    for line in _git(repo, "diff", "--name-status", base, head).splitlines():
        code, _, path = line.partition("\t")
        path = path.split("\t")[-1]
        patch = _git(repo, "diff", "--no-color", base, head, "--", path)
        # GitHub's `patch` is the hunks only, without git's file header lines.
        hunks = patch[patch.find("@@") :] if "@@" in patch else None
        files.append(
            {"filename": path, "status": STATUSES.get(code[:1], "modified"), "patch": hunks}
        )
    return files
