"""Which of the agents' attempts fixed a breakage: the credit rule of `bot.ci.service.fixes`, run
by its task (`FixCredit`) against the GitHub stand-in, which answers compare and pull requests
from a real git repository, on SQLite and PostgreSQL.

An attempt is credited when the green commit is its branch head (covered end to end in
`test_ask_agents_e2e`), holds its branch head, or holds its merged pull request's merge commit.
Otherwise none is, and when that is because GitHub could not tell, or the credit never decided,
the card says so rather than waiting for ever.
"""

from __future__ import annotations

import datetime as dt
import subprocess
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.agents import models as m
from bot.agents.models import AgentRequest, AgentTask
from bot.ci import service
from bot.ci.github import api
from bot.ci.models import CiBreakage, CiFixRequest
from bot.ci.service import cards, fixes
from bot.ci.service.events import GREEN, RED
from bot.ci.views.fix import credit_text
from bot.ci.workflows.fixes import FixCredit
from bot.config import Settings
from bot.core.db import transaction, utcnow
from bot.core.projector import NotReady
from bot.sandbox.github import GitHubStandIn
from tests.ci.conftest import CI_CONFIG, ROUTE, run_event

Sessions = async_sessionmaker[AsyncSession]
REPO = "octo-org/octo-repo"
UNREACHABLE = "http://127.0.0.1:9"  # nothing listens on the discard port


# ------------------------------------------------------------------ a repository with history


def git(repo: Path, *args: str) -> str:
    done = subprocess.run(["git", "-C", str(repo), *args], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()


def commit(repo: Path, message: str, text: str, path: str = "login.py") -> str:
    (repo / path).write_text(text)
    git(repo, "add", path)
    git(repo, "-c", "user.name=Dev", "-c", "user.email=dev@example.com",
        "commit", "-qm", message)  # fmt: skip
    return git(repo, "rev-parse", "HEAD")


@dataclass
class History:
    repo: Path
    green: str  # main's last green commit
    red: str  # the commit that broke it

    def branch(self, name: str, *changes: str) -> str:
        """A branch from the red commit with one commit per change; its head."""
        git(self.repo, "checkout", "-q", "-b", name, self.red)
        head = self.red
        for number, text in enumerate(changes):
            head = commit(self.repo, f"{name} {number}", text)
        git(self.repo, "checkout", "-q", "main")
        return head

    def on_main(self, message: str, text: str, path: str = "login.py") -> str:
        git(self.repo, "checkout", "-q", "main")
        return commit(self.repo, message, text, path)


@pytest.fixture
def history(tmp_path: Path) -> History:
    repo = tmp_path / "octo-repo"
    repo.mkdir()
    git(repo, "init", "-q", "-b", "main")
    green = commit(repo, "Log in", "def login(user):\n    return user.ok\n")
    red = commit(repo, "Always log in", "def login(user):\n    return True\n")
    return History(repo, green, red)


@pytest.fixture
async def github(history: History) -> AsyncIterator[GitHubStandIn]:
    async with GitHubStandIn(history.repo) as standin:
        yield standin


def pull_request(github: GitHubStandIn, branch: str, merged_as: str | None = None) -> str:
    """A pull request of `branch` into main (merged as `merged_as`, if given); its address."""
    github.state.pulls.append({"head": branch, "base": "main", "title": branch})
    number = len(github.state.pulls)
    if merged_as is not None:
        github.merge(number, merged_as)
    return f"https://github.com/{REPO}/pull/{number}"


# ------------------------------------------------------------------ the breakage and its agents


@dataclass(frozen=True)
class Attempt:
    branch: str
    ci_sha: str | None
    pr_url: str | None = None
    state: str = m.COMPLETED
    files_changed: int = 1


async def feed(sessions: Sessions, *events: Any) -> list[str]:
    effects = []
    for event in events:
        async with transaction(sessions) as session:
            effects.append((await service.record_run(session, event, ROUTE)).effect)
    return effects


async def broken_and_handed(sessions: Sessions, history: History, *attempts: Attempt) -> int:
    """Main red at `history.red` and agents asked to fix it, their attempts over; its id."""
    assert await feed(
        sessions, run_event(GREEN, history.green, 1, 0), run_event(RED, history.red, 2, 10)
    ) == ["green", "opened"]
    async with transaction(sessions) as session:
        [breakage] = list(await session.scalars(select(CiBreakage)))
        request = AgentRequest(
            channel="C0CI",
            thread_ts="1700000000.000100",
            requester="U0CAROL",
            source="ci",
            instruction="Fix the red CI",
            repo=REPO,
            base_branch="main",
            backend="command",
            attempts=len(attempts),
        )
        session.add(request)
        await session.flush()
        for number, attempt in enumerate(attempts, start=1):
            session.add(
                AgentTask(
                    request_id=request.id,
                    attempt=number,
                    backend="command",
                    state=attempt.state,
                    branch=attempt.branch,
                    ci_sha=attempt.ci_sha,
                    pr_url=attempt.pr_url,
                    files_changed=attempt.files_changed,
                    ci_state=GREEN if attempt.ci_sha else None,
                )
            )
        session.add(
            CiFixRequest(
                breakage_id=breakage.id,
                channel="C0CI",
                thread_ts="1700000000.000100",
                requested_by="U0CAROL",
                attempts=len(attempts),
                status=fixes.HANDED,
                agent_request_id=request.id,
                fixed_by=[],
            )
        )
        return breakage.id


async def green_at(sessions: Sessions, sha: str, expected: str = "fixed") -> None:
    assert await feed(sessions, run_event(GREEN, sha, 3, 30)) == [expected]


def credit_task(sessions: Sessions, api_url: str | None, token: str | None = "ghs_ci_read") -> Any:
    ci = {**CI_CONFIG, "github_token": token}
    if api_url is not None:
        ci["github_api_url"] = api_url
    return FixCredit(SimpleNamespace(sessions=sessions, settings=Settings(ci=ci)))  # type: ignore[arg-type]


async def credited(sessions: Sessions, breakage_id: int) -> tuple[fixes.FixInfo, str]:
    async with sessions() as session:
        info = await fixes.info(session, breakage_id)
    assert info is not None and info.credited
    return info, credit_text(info)


# ------------------------------------------------------------------ the rule


async def test_green_commit_holding_an_attempts_head_credits_it(
    sessions: Sessions, history: History, github: GitHubStandIn
) -> None:
    """(b) The attempt's branch was merged, and main moved on before CI ran: the green commit
    holds the attempt's head (compare: "ahead") without being it."""
    first = history.branch("opsbot/agent-1-1", "def login(user):\n    return False\n")
    second = history.branch("opsbot/agent-1-2", "def login(user):\n    return user.ok\n")
    breakage = await broken_and_handed(
        sessions, history, Attempt("opsbot/agent-1-1", first),
        Attempt("opsbot/agent-1-2", second),
    )  # fmt: skip
    git(history.repo, "merge", "-q", "--ff-only", second)
    green = history.on_main("Docs", "# login\n", path="README.md")
    await green_at(sessions, green)

    await credit_task(sessions, github.url)({"breakage_id": breakage})

    info, text = await credited(sessions, breakage)
    assert info.fixed_by == (2,) and text.startswith("Fixed by the agents' attempt 2")
    assert "`opsbot/agent-1-2`" in text
    asked = [seen.path for seen in github.asked("/compare/")]
    assert f"/repos/{REPO}/compare/{second}...{green}" in asked


async def test_merged_pull_request_in_the_green_commit_credits_its_attempt(
    sessions: Sessions, history: History, github: GitHubStandIn
) -> None:
    """(c) The attempt's pull request was squash-merged: its head is not in main, the merge
    commit is (the green commit is that commit, or a later one)."""
    head = history.branch("opsbot/agent-1-1", "def login(user):\n    return user.ok\n")
    squashed = history.on_main("Fix login (#1)", "def login(user):\n    return user.ok\n")
    url = pull_request(github, "opsbot/agent-1-1", merged_as=squashed)
    breakage = await broken_and_handed(sessions, history, Attempt("opsbot/agent-1-1", head, url))
    green = history.on_main("Docs", "# login\n", path="README.md")
    await green_at(sessions, green)

    await credit_task(sessions, github.url)({"breakage_id": breakage})

    info, text = await credited(sessions, breakage)
    assert info.fixed_by == (1,) and text.startswith("Fixed by the agents' attempt 1")
    assert github.asked(f"/compare/{head}...{green}")  # its head first: not in main
    assert github.asked(f"/repos/{REPO}/pulls/1")
    assert github.asked(f"/compare/{squashed}...{green}")


async def test_merged_pull_request_credits_an_attempt_ci_never_ran(
    sessions: Sessions, history: History, github: GitHubStandIn
) -> None:
    """(c) without a CI run on the branch (no head known): the pull request alone decides; its
    merge commit being the green commit needs no compare."""
    history.branch("opsbot/agent-1-1", "def login(user):\n    return user.ok\n")
    squashed = history.on_main("Fix login (#1)", "def login(user):\n    return user.ok\n")
    url = pull_request(github, "opsbot/agent-1-1", merged_as=squashed)
    breakage = await broken_and_handed(sessions, history, Attempt("opsbot/agent-1-1", None, url))
    await green_at(sessions, squashed)

    await credit_task(sessions, github.url)({"breakage_id": breakage})

    info, _text = await credited(sessions, breakage)
    assert info.fixed_by == (1,)
    assert not github.asked("/compare/")


async def test_no_attempts_change_in_the_green_commit_credits_none(
    sessions: Sessions, history: History, github: GitHubStandIn
) -> None:
    """A fix by hand: one attempt's head diverged from main and its pull request is still
    open; another made no commit (its head is the red commit, which every later commit holds);
    a third failed. None is credited, and the card says no attempt is in the fix."""
    head = history.branch("opsbot/agent-1-1", "def login(user):\n    return False\n")
    url = pull_request(github, "opsbot/agent-1-1")  # open, not merged
    breakage = await broken_and_handed(
        sessions, history, Attempt("opsbot/agent-1-1", head, url),
        Attempt("opsbot/agent-1-2", history.red),
        Attempt("opsbot/agent-1-3", None, state=m.FAILED),
    )  # fmt: skip
    green = history.on_main("Fix login by hand", "def login(user):\n    return user.valid\n")
    await green_at(sessions, green)

    await credit_task(sessions, github.url)({"breakage_id": breakage})

    info, text = await credited(sessions, breakage)
    assert info.fixed_by == () and info.credit_note is None
    assert text == "None of the agents' 3 attempts is in the fix."
    assert not github.asked(f"/compare/{history.red}...")  # the red commit is no attempt's own


async def test_an_attempt_that_changed_nothing_is_not_credited(
    sessions: Sessions, history: History, github: GitHubStandIn
) -> None:
    """An attempt that left no change of its own is no fix, even where its branch head is a
    main commit CI never ran on and that the green commit is."""
    fixed = history.on_main("Fix login by hand", "def login(user):\n    return user.valid\n")
    breakage = await broken_and_handed(
        sessions, history, Attempt("opsbot/agent-1-1", fixed, files_changed=0)
    )
    await green_at(sessions, fixed)

    await credit_task(sessions, github.url)({"breakage_id": breakage})

    info, text = await credited(sessions, breakage)
    assert info.fixed_by == ()
    assert text == "None of the agents' 1 attempt is in the fix."


async def test_another_repositorys_pull_request_is_not_asked_about(
    sessions: Sessions, history: History, github: GitHubStandIn
) -> None:
    """A pull request address of another repository names a different pull request here:
    #1 of this repository is merged into the green commit, and is not the attempt's."""
    history.branch("opsbot/agent-1-1", "def login(user):\n    return user.ok\n")
    squashed = history.on_main("Someone's fix (#1)", "def login(user):\n    return user.ok\n")
    pull_request(github, "someone/else", merged_as=squashed)
    elsewhere = "https://github.com/other-org/fork/pull/1"
    breakage = await broken_and_handed(
        sessions, history, Attempt("opsbot/agent-1-1", None, elsewhere)
    )
    await green_at(sessions, squashed)

    await credit_task(sessions, github.url)({"breakage_id": breakage})

    info, _text = await credited(sessions, breakage)
    assert info.fixed_by == () and not github.asked("/pulls/")


async def test_a_flaky_failure_credits_none_and_says_why(
    sessions: Sessions, history: History, github: GitHubStandIn
) -> None:
    """Green again on the red commit itself: a flake, which no attempt fixed (GitHub is not
    asked)."""
    head = history.branch("opsbot/agent-1-1", "def login(user):\n    return user.ok\n")
    breakage = await broken_and_handed(sessions, history, Attempt("opsbot/agent-1-1", head))
    await green_at(sessions, history.red, expected="flaky")

    await credit_task(sessions, github.url)({"breakage_id": breakage})

    info, text = await credited(sessions, breakage)
    assert info.fixed_by == ()
    assert text == (
        "None of the agents' 1 attempt is credited with the fix "
        "(the failure was flaky: no change fixed it)."
    )
    assert github.state.requests == []


# ------------------------------------------------------------------ when GitHub cannot tell


@pytest.mark.parametrize("where", ["unreachable", "not found"])
async def test_github_failing_credits_none_and_says_it_could_not_tell(
    sessions: Sessions, history: History, github: GitHubStandIn, where: str
) -> None:
    """GitHub unreachable, or answering errors: the credit is still decided (the recovery line
    waits for it), as none, and the card does not claim no attempt is in the fix."""
    first = history.branch("opsbot/agent-1-1", "def login(user):\n    return user.ok\n")
    second = history.branch("opsbot/agent-1-2", "def login(user):\n    return user.fine\n")
    url = pull_request(github, "opsbot/agent-1-2", merged_as="f" * 40)
    breakage = await broken_and_handed(
        sessions, history, Attempt("opsbot/agent-1-1", first),
        Attempt("opsbot/agent-1-2", second, url),
    )  # fmt: skip
    git(history.repo, "merge", "-q", "--ff-only", first)
    green = history.on_main("Docs", "# login\n", path="README.md")
    await green_at(sessions, green)
    if where == "not found":
        github.state.repo = None  # compare answers 404, as for commits GitHub does not have
        api_url = github.url
    else:
        api_url = UNREACHABLE

    await credit_task(sessions, api_url)({"breakage_id": breakage})

    info, text = await credited(sessions, breakage)
    assert info.fixed_by == ()
    assert text == (
        "None of the agents' 2 attempts is credited with the fix "
        "(GitHub could not say whether attempt 1 or attempt 2 is in it)."
    )


async def test_what_github_did_say_still_credits_when_it_could_not_tell_of_another(
    sessions: Sessions, history: History, github: GitHubStandIn
) -> None:
    """One attempt's merged pull request is the green commit; GitHub cannot find another's
    head: the one it could tell of is credited."""
    first = "0" * 40  # a head GitHub does not know (compare answers 404)
    history.branch("opsbot/agent-1-2", "def login(user):\n    return user.ok\n")
    squashed = history.on_main("Fix login (#1)", "def login(user):\n    return user.ok\n")
    url = pull_request(github, "opsbot/agent-1-2", merged_as=squashed)
    breakage = await broken_and_handed(
        sessions, history, Attempt("opsbot/agent-1-1", first),
        Attempt("opsbot/agent-1-2", None, url),
    )  # fmt: skip
    await green_at(sessions, squashed)

    await credit_task(sessions, github.url)({"breakage_id": breakage})

    info, _text = await credited(sessions, breakage)
    assert info.fixed_by == (2,) and info.credit_note is None


async def test_a_failure_while_deciding_credits_none_instead_of_retrying_for_ever(
    sessions: Sessions, history: History, github: GitHubStandIn, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An answer the check cannot read fails the same way each time: the task decides (none,
    not checked) instead of failing until the task runner gives it up, undecided."""
    head = history.branch("opsbot/agent-1-1", "def login(user):\n    return user.ok\n")
    breakage = await broken_and_handed(sessions, history, Attempt("opsbot/agent-1-1", head))
    green = history.on_main("Fix login", "def login(user):\n    return user.valid\n")
    await green_at(sessions, green)

    async def unreadable(*_args: Any) -> api.Comparison:
        raise TypeError("'int' object is not iterable")

    monkeypatch.setattr(api, "compare", unreadable)
    await credit_task(sessions, github.url)({"breakage_id": breakage})

    info, text = await credited(sessions, breakage)
    assert info.fixed_by == () and info.credit_note == fixes.NOT_CHECKED
    assert "could not be checked" in text


# ------------------------------------------------------------------ a credit that never decides


async def test_the_sweep_settles_a_credit_that_never_decided(
    sessions: Sessions, history: History
) -> None:
    """The recovery line waits for the credit. If its task never decides (it kept failing and
    was given up), the periodic sweep credits none an hour after the green run came in, so the
    line is posted and the card stops saying it is checking."""
    head = history.branch("opsbot/agent-1-1", "def login(user):\n    return user.ok\n")
    breakage = await broken_and_handed(sessions, history, Attempt("opsbot/agent-1-1", head))
    await green_at(sessions, "e" * 40)
    async with sessions() as session:
        with pytest.raises(NotReady, match="being credited"):
            await cards.load_recovery(session, f"{breakage}", {})

    soon = utcnow() + fixes.CREDIT_GIVE_UP - dt.timedelta(minutes=5)
    async with transaction(sessions) as session:
        assert await fixes.give_up_crediting(session, soon) == 0
    async with sessions() as session:
        info = await fixes.info(session, breakage)
    assert info is not None and not info.credited
    assert credit_text(info).startswith("_checking")

    later = utcnow() + fixes.CREDIT_GIVE_UP + dt.timedelta(minutes=1)
    async with transaction(sessions) as session:
        assert await fixes.give_up_crediting(session, later) == 1
    async with transaction(sessions) as session:
        assert await fixes.give_up_crediting(session, later) == 0  # once
    info, text = await credited(sessions, breakage)
    assert text == (
        "None of the agents' 1 attempt is credited with the fix "
        "(whether an attempt is in it could not be checked)."
    )
    async with sessions() as session:
        try:
            await cards.load_recovery(session, f"{breakage}", {})
        except NotReady as waiting:  # only for its card, which this test never posts
            assert "being credited" not in str(waiting)

    # A credit task that runs after all finds nothing left to decide.
    await credit_task(sessions, UNREACHABLE)({"breakage_id": breakage})
    info_after, _text = await credited(sessions, breakage)
    assert info_after.credit_note == fixes.NOT_CHECKED


async def test_the_sweep_leaves_open_breakages_and_decided_credits_alone(
    sessions: Sessions, history: History
) -> None:
    head = history.branch("opsbot/agent-1-1", "def login(user):\n    return user.ok\n")
    breakage = await broken_and_handed(sessions, history, Attempt("opsbot/agent-1-1", head))
    much_later = utcnow() + dt.timedelta(days=2)
    async with transaction(sessions) as session:
        assert await fixes.give_up_crediting(session, much_later) == 0  # still red
    await green_at(sessions, head)  # its own head: credited without GitHub
    await credit_task(sessions, None, token=None)({"breakage_id": breakage})
    async with transaction(sessions) as session:
        assert await fixes.give_up_crediting(session, much_later) == 0
    info, _text = await credited(sessions, breakage)
    assert info.fixed_by == (1,)
