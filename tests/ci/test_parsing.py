"""Provider payloads into runs, routes, durations and /ci text: pure, no database."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest
from pydantic import ValidationError

from bot.ci import buildkite, github, gitlab
from bot.ci.service.commands import History, Mute, Status, Unmute, parse, parse_duration
from bot.ci.service.events import GREEN, IGNORED, RED, Ignored, RunEvent
from bot.ci.service.routing import route_for
from bot.config import CiRoute
from bot.core.commands import UsageError
from bot.sandbox.ci_samples import fixture, workflow_run

FIXTURES = Path(__file__).parent / "fixtures"


def test_shipped_workflow_run_example_parses_as_it_is() -> None:
    event = github.parse("workflow_run", fixture("workflow_run.completed.json"))
    assert isinstance(event, RunEvent)
    assert (event.repo, event.branch, event.workflow) == ("octo-org/octo-repo", "master", "test")
    assert (event.external_id, event.attempt, event.outcome) == ("289782451", 1, GREEN)
    assert event.created_at == dt.datetime(2020, 10, 5, 16, 33, 24, tzinfo=dt.UTC)
    assert event.default_branch == "master"
    assert event.head_commit.author_email == "matfax@users.noreply.github.com"
    assert event.head_commit.url == (
        "https://github.com/octo-org/octo-repo/commit/3484a3fb816e0859fd6e1cea078d76385ff50625"
    )


@pytest.mark.parametrize(
    ("conclusion", "outcome"),
    [("failure", RED), ("timed_out", RED), ("cancelled", IGNORED), ("skipped", IGNORED)],
)
def test_conclusions(conclusion: str, outcome: str) -> None:
    payload = workflow_run(
        conclusion=conclusion, sha="1" * 40, run_id=5, created=dt.datetime.now(dt.UTC), attempt=3
    )
    event = github.parse("workflow_run", payload)
    assert isinstance(event, RunEvent)
    assert (event.outcome, event.attempt, event.sha) == (outcome, 3, "1" * 40)


def test_check_suite_of_an_app_is_a_run_but_actions_suites_are_not() -> None:
    payload = fixture("check_suite.completed.json")
    event = github.parse("check_suite", payload)
    assert isinstance(event, RunEvent) and event.workflow == "octocoders-linter"
    payload["check_suite"]["app"]["slug"] = "github-actions"
    assert isinstance(github.parse("check_suite", payload), Ignored)


def test_gitlab_documented_pipeline_hook() -> None:
    payload = json.loads((FIXTURES / "gitlab/pipeline_hook.success.json").read_text())
    event = gitlab.parse("Pipeline Hook", payload)
    assert isinstance(event, RunEvent)
    assert (event.repo, event.branch, event.default_branch) == (
        "gitlab-org/gitlab-test",
        "master",
        "master",
    )
    assert event.completed_at == dt.datetime(2016, 8, 12, 15, 26, 29, tzinfo=dt.UTC)
    assert (event.outcome, event.title) == (GREEN, "test")
    assert event.head_commit.author_email == "user@gitlab.com"
    payload["object_attributes"]["status"] = "pending"
    assert isinstance(gitlab.parse("Pipeline Hook", payload), Ignored)
    del payload["object_attributes"]["sha"]
    with pytest.raises(ValidationError):
        gitlab.parse("Pipeline Hook", payload)


def test_buildkite_documented_build_finished() -> None:
    payload = json.loads((FIXTURES / "buildkite/build.finished.json").read_text())
    event = buildkite.parse("build.finished", payload)
    assert isinstance(event, RunEvent)
    assert (event.repo, event.branch, event.workflow) == (
        "acme-inc/my-pipeline",
        "main",
        "My Pipeline",
    )
    assert event.head_commit.author_email == "keith@buildkite.com"
    payload["build"]["pull_request"] = {"id": "12", "base": "main"}
    assert isinstance(buildkite.parse("build.finished", payload), Ignored)


@pytest.mark.parametrize(
    "url",
    [
        "git@github.com:acme/app.git",
        "https://github.com/acme/app",
        "https://github.com/acme/app.git",
    ],
)
def test_buildkite_repository_names(url: str) -> None:
    assert buildkite.repo_name(url, "fallback") == "acme/app"


def test_routes_match_branch_patterns_and_default_branch() -> None:
    routes = [
        CiRoute(repo="octo-org/octo-repo", branches=["main", "release/*"], channel="C0A"),
        CiRoute(repo="*", channel="C0B"),
    ]
    assert route_for(routes, "octo-org/octo-repo", "release/2.1").channel == "C0A"  # type: ignore[union-attr]
    assert route_for(routes, "octo-org/octo-repo", "feature/x") is None
    assert route_for(routes, "other/repo", "trunk", "trunk").channel == "C0B"  # type: ignore[union-attr]
    assert route_for(routes, "other/repo", "main", "trunk") is None
    assert route_for(routes, "other/repo", "master") is not None  # no default known: main/master


@pytest.mark.parametrize(
    ("text", "minutes"), [("30m", 30), ("2h", 120), ("1d", 1440), ("1h30m", 90), ("1w", 10080)]
)
def test_durations(text: str, minutes: int) -> None:
    assert parse_duration(text) == dt.timedelta(minutes=minutes)


@pytest.mark.parametrize("text", ["", "2", "2x", "h", "-1h", "30s", "31d", "2h junk"])
def test_bad_durations(text: str) -> None:
    with pytest.raises(UsageError):
        parse_duration(text)


def test_command_text() -> None:
    assert parse("status") == Status(None)
    assert parse("status octo-org/octo-repo") == Status("octo-org/octo-repo")
    assert parse("history octo-org/octo-repo release/1.0") == History(
        "octo-org/octo-repo", "release/1.0"
    )
    assert parse("mute octo-org/octo-repo main 2h") == Mute(
        "octo-org/octo-repo", "main", dt.timedelta(hours=2)
    )
    assert parse("unmute octo-org/octo-repo main") == Unmute("octo-org/octo-repo", "main")


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ("frobnicate", "`frobnicate` is not a /ci subcommand"),
        ("history", "`history` takes a repository"),
        ("history octo-repo", "`octo-repo` is not a repository"),
        ("mute octo-org/octo-repo main", "`mute` takes a repository, a branch and a duration"),
        ("mute octo-org/octo-repo main soon", "`soon` is not a duration"),
        ("status a/b c/d", "`status` takes an optional repository"),
        ('history "unclosed', "could not read the command text"),
    ],
)
def test_bad_command_text(text: str, says: str) -> None:
    with pytest.raises(UsageError, match=says.replace("`", ".").replace("/", ".")):
        parse(text)
