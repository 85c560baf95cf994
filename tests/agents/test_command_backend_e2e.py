"""The command backend: a script agent edits a worktree; the bot commits, pushes, opens a PR."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
import uvicorn
from fastapi import FastAPI, Request

from bot.agents import models as m
from bot.agents import service
from bot.sandbox.agent_git import make_repo
from bot.sandbox.embedded import EmbeddedServer as _EmbeddedServer
from bot.sandbox.embedded import free_port as _free_port
from tests.agents.e2e import (
    BOB,
    GENERAL,
    agent_bot,
    all_in,
    posts_of,
    shown,
    task_in,
    tasks,
    told,
    until,
    view_ts,
)
from tests.agents.isolated import isolation

FAKE_AGENT = Path(__file__).with_name("fake_agent.py")
REPO = "octo-org/octo-repo"


def _git(*args: str) -> str:
    return subprocess.run(["git", *args], capture_output=True, text=True, check=True).stdout


@pytest.fixture
def checkout(tmp_path: Path) -> Path:
    """A clone with an `origin` (a bare repository) to push to."""
    source = make_repo(tmp_path / "source")
    _git("clone", "--quiet", "--bare", str(source), str(tmp_path / "origin.git"))
    _git("clone", "--quiet", str(tmp_path / "origin.git"), str(tmp_path / "checkout"))
    return tmp_path / "checkout"


def command_agents(checkout: Path, tmp_path: Path, **extra: Any) -> dict[str, Any]:
    return {
        "backends": [
            {
                "name": "local",
                "kind": "command",
                "command": [sys.executable, str(FAKE_AGENT)],
            }
        ],
        "checkouts": {REPO: str(checkout)},
        "worktree_root": str(tmp_path / "trees"),
        **isolation(),
        **extra,
    }


class FakeGitHub:
    """Just enough of GitHub's REST API to open a pull request, on loopback."""

    def __init__(self) -> None:
        self.pulls: list[dict[str, Any]] = []
        self.headers: list[str] = []
        self.port = _free_port()
        app = FastAPI()

        @app.post("/repos/{owner}/{name}/pulls")
        async def create(owner: str, name: str, request: Request) -> Any:
            self.pulls.append(await request.json())
            self.headers.append(request.headers.get("authorization", ""))
            number = len(self.pulls)
            return _created(f"https://github.com/{owner}/{name}/pull/{number}")

        self.server = _EmbeddedServer(
            uvicorn.Config(app, host="127.0.0.1", port=self.port, log_level="warning")
        )

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"


def _created(url: str) -> Any:
    from fastapi.responses import JSONResponse

    return JSONResponse({"html_url": url, "number": 1}, status_code=201)


@pytest.fixture
async def github() -> AsyncIterator[FakeGitHub]:
    fake = FakeGitHub()
    task = asyncio.create_task(fake.server.serve())
    while not fake.server.started:  # noqa: ASYNC110 (uvicorn offers no event)
        await asyncio.sleep(0.01)
    yield fake
    fake.server.should_exit = True
    await task


async def test_command_agent_reports_branch_and_diff_stat(
    db_url: str, checkout: Path, tmp_path: Path
) -> None:
    agents = command_agents(checkout, tmp_path)
    async with agent_bot(db_url, "unused", **agents) as bot:
        await bot.slack.command(
            "/agent", f"run {REPO} make the login test retry", user=BOB, channel=GENERAL
        )
        assert "Agent task #1 started on *octo-org/octo-repo*" in told(bot, BOB)
        await until(bot, lambda: all_in(bot, m.COMPLETED))
        [task] = await tasks(bot)
        assert task.branch == "opsbot/agent-1-1" and task.pr_url is None
        assert (task.files_changed, task.lines_added, task.lines_removed) == (2, 4, 0)
        assert task.tests == "5 passed"
        assert task.summary and "retry" in task.summary
        # The branch was pushed to origin, with the agent's edits committed.
        origin = tmp_path / "origin.git"
        notes = _git("-C", str(origin), "show", "opsbot/agent-1-1:NOTES.md")
        assert "- make the login test retry" in notes
        # /agent run opened a thread: the parent message, then the card under it.
        parent_channel, parent_ts = await view_ts(bot, service.PARENT, 1)
        assert parent_channel == GENERAL
        channel, ts = await view_ts(bot, service.CARD, task.id)
        assert posts_of(bot, service.CARD)[0].args["thread_ts"] == parent_ts
        card = shown(bot, channel, ts)
        assert "NOTES.md | +3 -0" in card and "src/flaky.py | +1 -0" in card
        assert "2 files changed, +4 -0" in card
        # The first lines of the change itself, as git prints them.
        assert "The change begins:" in card
        assert "+- done by the fake agent" in card and "+++ b/src/flaky.py" in card
        assert task.diff_preview and task.diff_preview.startswith("diff --git a/NOTES.md")
        # The whole change and what the agent printed, as files in the thread.
        await until(bot, lambda: len(_files_in(bot, parent_ts)) == 2)
        files = _files_in(bot, parent_ts)
        patch = files["agent-1-attempt-1.patch"]
        assert "+++ b/src/flaky.py" in patch and "+- done by the fake agent" in patch
        transcript = files["agent-1-attempt-1-transcript.txt"]
        assert '"summary": "Made the login test retry; it passes now."' in transcript
        [result] = posts_of(bot, service.RESULT)
        assert "Branch `opsbot/agent-1-1` (2 files, +4 -0)" in result.args["text"]
        # The worktree and its note go as the drive ends, just after the result is reported.
        await until(bot, lambda: not list((tmp_path / "trees").glob("*/*")))

        # An agent that fails says why, in the thread.
        await bot.slack.command("/agent", f"run {REPO} fail please", user=BOB, channel=GENERAL)
        await until(bot, lambda: task_in(bot, 1, m.FAILED))
        failed = (await tasks(bot))[1]
        assert "exited with code 3" in (failed.error or "")
        assert "could not make sense of the repository" in (failed.error or "")
        [_, line] = posts_of(bot, service.RESULT)
        assert (
            "The agent task failed: The agent command exited with code 3: could not make"
            in line.args["text"]
        )


async def test_command_agent_opens_a_pull_request_with_a_token(
    db_url: str, checkout: Path, tmp_path: Path, github: FakeGitHub
) -> None:
    agents = command_agents(checkout, tmp_path, github_token="ghs_test", github_api_url=github.url)
    async with agent_bot(db_url, "unused", **agents) as bot:
        await bot.slack.command(
            "/agent", f"run {REPO} make the login test retry branch=main", user=BOB, channel=GENERAL
        )
        await until(bot, lambda: all_in(bot, m.COMPLETED))
        [task] = await tasks(bot)
        assert task.pr_url == "https://github.com/octo-org/octo-repo/pull/1"
        [pull] = github.pulls
        assert pull["head"] == "opsbot/agent-1-1" and pull["base"] == "main"
        assert pull["title"] == "make the login test retry"
        assert pull["draft"] is True  # for people to review first
        # It names who asked and links back to the thread it came from.
        assert "`U0BOB`" in pull["body"]
        assert "(https://app.slack.com/client/T0SANDBOX/C0GENERAL/thread/C0GENERAL-" in pull["body"]
        assert github.headers == ["Bearer ghs_test"]
        [result] = posts_of(bot, service.RESULT)
        assert "<https://github.com/octo-org/octo-repo/pull/1|Pull request>" in result.args["text"]


def _files_in(bot: Any, thread_ts: str) -> dict[str, str]:
    """The files posted in a thread: name -> content."""
    return {
        file.name: (file.content or b"").decode()
        for file in bot.state.files.values()
        if file.thread_ts == thread_ts and file.completed
    }


def _working_in(trees: Path) -> list[int]:
    """Processes of this machine whose working directory is one of the worktrees."""
    found = []
    for entry in Path("/proc").iterdir():
        try:
            if entry.name.isdigit() and Path(os.readlink(entry / "cwd")).is_relative_to(trees):
                found.append(int(entry.name))
        except OSError:  # gone, or not ours to read
            continue
    return found


async def test_canceling_a_command_agent_kills_it(
    db_url: str, checkout: Path, tmp_path: Path
) -> None:
    trees = tmp_path / "trees"
    async with agent_bot(db_url, "unused", **command_agents(checkout, tmp_path)) as bot:
        await bot.slack.command("/agent", f"run {REPO} be slow", user=BOB, channel=GENERAL)
        await until(bot, lambda: bool(list(trees.glob("*/*/.agent-started"))))
        assert _working_in(trees)
        [task] = await tasks(bot)
        channel, ts = await view_ts(bot, service.CARD, task.id)
        await bot.slack.block_action(BOB, "agents.cancel", channel=channel, message_ts=ts)
        await until(bot, lambda: all_in(bot, m.CANCELED))
        await until(bot, lambda: not list(trees.glob("*/*")))
        assert _working_in(trees) == []  # the agent and anything it started are gone
        assert "Canceled by <@U0BOB>" in shown(bot, channel, ts)
