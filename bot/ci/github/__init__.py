"""GitHub: `workflow_run` and `check_suite` payloads. Its REST API (suspects, failing jobs,
logs, merges) is in `api`."""

from __future__ import annotations

from typing import Any

from bot.ci.service.events import Commit, Ignored, RunEvent, outcome_of
from bot.ci.service.payloads import Payload, Person, Time

GREEN = {"success"}
RED = {"failure", "timed_out", "startup_failure"}
# Check suites of GitHub Actions repeat what workflow_run already told us, one level coarser.
ACTIONS_APP_SLUG = "github-actions"


class HeadCommit(Payload):
    id: str
    message: str | None = None
    timestamp: Time | None = None
    author: Person | None = None


class Repository(Payload):
    full_name: str
    default_branch: str | None = None
    html_url: str | None = None


class Workflow(Payload):
    name: str | None = None
    path: str | None = None


class WorkflowRun(Payload):
    id: int
    name: str | None = None
    head_branch: str | None = None
    head_sha: str
    run_number: int | None = None
    run_attempt: int = 1
    status: str
    conclusion: str | None = None
    event: str | None = None
    html_url: str | None = None
    display_title: str | None = None
    path: str | None = None
    created_at: Time
    updated_at: Time | None = None
    head_commit: HeadCommit | None = None
    head_repository: Repository | None = None


class WorkflowRunPayload(Payload):
    action: str
    workflow_run: WorkflowRun
    workflow: Workflow | None = None
    repository: Repository


class App(Payload):
    name: str | None = None
    slug: str | None = None


class CheckSuite(Payload):
    id: int
    head_branch: str | None = None
    head_sha: str
    status: str | None = None
    conclusion: str | None = None
    created_at: Time
    updated_at: Time | None = None
    head_commit: HeadCommit | None = None
    app: App | None = None


class CheckSuitePayload(Payload):
    action: str
    check_suite: CheckSuite
    repository: Repository


def _commit(head: HeadCommit | None, sha: str, repo: Repository) -> tuple[Commit, ...]:
    if head is None:
        return ()
    author = head.author or Person()
    url = f"{repo.html_url}/commit/{head.id}" if repo.html_url else None
    return (
        Commit(
            sha=head.id or sha,
            message=head.message,
            url=url,
            author_name=author.name,
            author_email=author.email,
            author_login=author.username,
        ),
    )


def parse_workflow_run(payload: dict[str, Any]) -> RunEvent | Ignored:
    data = WorkflowRunPayload.model_validate(payload)
    run = data.workflow_run
    if data.action != "completed" or run.status != "completed":
        return Ignored(f"workflow_run action {data.action!r}")
    # Runs for pull requests (and forks) name the PR's head branch, which may well be "main".
    if run.event in ("pull_request", "pull_request_target") or (
        run.head_repository and run.head_repository.full_name != data.repository.full_name
    ):
        return Ignored("workflow_run for a pull request")
    if not run.head_branch:
        return Ignored("workflow_run without a branch")
    workflow = (data.workflow and data.workflow.name) or run.name or run.path or str(run.id)
    conclusion = run.conclusion or "unknown"
    created = run.created_at
    return RunEvent(
        provider="github",
        repo=data.repository.full_name,
        branch=run.head_branch,
        default_branch=data.repository.default_branch,
        workflow=workflow,
        external_id=str(run.id),
        attempt=run.run_attempt,
        number=str(run.run_number) if run.run_number is not None else None,
        sha=run.head_sha,
        conclusion=conclusion,
        outcome=outcome_of(conclusion, GREEN, RED),
        created_at=created,
        completed_at=run.updated_at or created,
        url=run.html_url,
        title=run.display_title,
        commits=_commit(run.head_commit, run.head_sha, data.repository),
    )


def parse_check_suite(payload: dict[str, Any]) -> RunEvent | Ignored:
    data = CheckSuitePayload.model_validate(payload)
    suite = data.check_suite
    if data.action != "completed":
        return Ignored(f"check_suite action {data.action!r}")
    app = suite.app or App()
    if app.slug == ACTIONS_APP_SLUG or app.name == "GitHub Actions":
        return Ignored("check_suite of GitHub Actions (workflow_run covers it)")
    if not suite.head_branch:
        return Ignored("check_suite without a branch")
    conclusion = suite.conclusion or "unknown"
    created = suite.created_at
    completed = suite.updated_at or created
    repo = data.repository
    return RunEvent(
        provider="github",
        repo=repo.full_name,
        branch=suite.head_branch,
        default_branch=repo.default_branch,
        workflow=app.name or app.slug or "checks",
        # A re-requested suite completes again under the same id: each completion is a run.
        external_id=f"suite-{suite.id}-{int(completed.timestamp())}",
        attempt=1,
        sha=suite.head_sha,
        conclusion=conclusion,
        outcome=outcome_of(conclusion, GREEN, RED),
        created_at=created,
        completed_at=completed,
        url=f"{repo.html_url}/commit/{suite.head_sha}/checks" if repo.html_url else None,
        title=suite.head_commit.message if suite.head_commit else None,
        commits=_commit(suite.head_commit, suite.head_sha, repo),
    )


PARSERS = {"workflow_run": parse_workflow_run, "check_suite": parse_check_suite}


def parse(event: str, payload: dict[str, Any]) -> RunEvent | Ignored:
    """Raises pydantic.ValidationError when a handled event is missing what we need."""
    parser = PARSERS.get(event)
    if parser is None:
        return Ignored(f"event {event!r} is not handled")
    return parser(payload)


def compare_commit(item: dict[str, Any]) -> Commit:
    """A commit of the compare API's `commits` list."""
    detail = item.get("commit") or {}
    author = detail.get("author") or {}
    login = (item.get("author") or {}).get("login")
    return Commit(
        sha=str(item.get("sha", "")),
        message=detail.get("message"),
        url=item.get("html_url"),
        author_name=author.get("name"),
        author_email=author.get("email"),
        author_login=login,
    )
