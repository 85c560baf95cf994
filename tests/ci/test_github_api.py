"""The CI feature's GitHub calls against the GitHub stand-in (GitHub's shapes, on loopback, with
a real git repository behind compare): jobs, a job's log through its 302, compare's files and
ancestry, a pull request's merge."""

from __future__ import annotations

import subprocess
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bot.ci.github import api
from bot.sandbox.agent_git import make_repo
from bot.sandbox.github import GitHubStandIn, job

REPO = "octo-org/octo-repo"
TOKEN = "ghs_ci_test"


def _git(repo: Path, *args: str) -> str:
    done = subprocess.run(["git", "-C", str(repo), *args], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()


def _commit(repo: Path, path: str, text: str, message: str) -> str:
    (repo / path).write_text(text)
    _git(repo, "add", "-A")
    _git(repo, "-c", "user.name=Alice", "-c", "user.email=alice@example.com",
         "commit", "-q", "-m", message)  # fmt: skip
    return _git(repo, "rev-parse", "HEAD")


@pytest.fixture
async def github(tmp_path: Path) -> AsyncIterator[GitHubStandIn]:
    async with GitHubStandIn(make_repo(tmp_path / "repo")) as standin:
        yield standin


async def test_failing_jobs_and_steps_of_a_run(github: GitHubStandIn) -> None:
    github.add_run(42, [
        job(7, "lint", 42, [("Set up job", "success"), ("Run ruff", "success")]),
        job(8, "pytest", 42, [("Set up job", "success"), ("Run tests", "failure"),
                              ("Post checkout", "skipped")]),
    ])  # fmt: skip
    jobs = await api.run_jobs(REPO, "42", TOKEN, github.url)
    assert jobs is not None
    assert [(j.id, j.name, j.conclusion) for j in jobs] == [
        (7, "lint", "success"),
        (8, "pytest", "failure"),
    ]
    assert [(s.number, s.name) for s in jobs[1].failed_steps] == [(2, "Run tests")]
    [seen] = github.asked("/actions/runs/42/jobs")
    assert seen.authorization == f"Bearer {TOKEN}"
    assert await api.run_jobs(REPO, "43", TOKEN, github.url) is None  # unknown run


async def test_a_job_log_is_downloaded_from_its_redirect_without_the_token(
    github: GitHubStandIn,
) -> None:
    github.set_log(8, "line 1\nline 2\n##[error]Process completed with exit code 1.\n")
    log = await api.job_log(REPO, 8, TOKEN, github.url)
    assert log is not None and log.endswith("exit code 1.\n")
    [download] = github.asked("/_downloads/")
    assert download.authorization is None  # the token stays with GitHub's API
    assert await api.job_log(REPO, 9, TOKEN, github.url) is None  # no such job


async def test_compare_gives_commits_files_with_patches_and_ancestry(
    github: GitHubStandIn,
) -> None:
    repo = github.state.repo
    assert repo is not None
    base = _git(repo, "rev-parse", "HEAD")
    red = _commit(repo, "src/login.py", "def login(user):\n    return True\n", "Always log in")
    found = await api.compare(REPO, base, red, TOKEN, github.url)
    assert found is not None and found.status == "ahead"
    assert [c["sha"] for c in found.commits] == [red]
    [change] = found.files
    assert (change.filename, change.status) == ("src/login.py", "modified")
    assert change.patch and change.patch.startswith("@@") and "+    return True" in change.patch
    assert await api.contains(REPO, base, red, TOKEN, github.url) is True
    assert await api.contains(REPO, red, base, TOKEN, github.url) is False
    assert await api.contains(REPO, red, red, TOKEN, github.url) is True
    assert await api.compare(REPO, base, "f" * 40, TOKEN, github.url) is None


async def test_a_pull_request_says_whether_and_how_it_was_merged(github: GitHubStandIn) -> None:
    from bot.agents.backends import github as forge

    url = await forge.open_pull_request(
        token=TOKEN, repo=REPO, head="opsbot/agent-1-2", base="main", title="Fix",
        body="", api_url=github.url,
    )  # fmt: skip
    assert url == "https://github.com/octo-org/octo-repo/pull/1"
    pull = await api.pull(REPO, 1, TOKEN, github.url)
    assert pull is not None and not pull.merged and pull.merge_commit_sha is None
    github.merge(1, "d" * 40)
    pull = await api.pull(REPO, 1, TOKEN, github.url)
    assert pull is not None and pull.merged and pull.merge_commit_sha == "d" * 40
    assert await api.pull(REPO, 2, TOKEN, github.url) is None
