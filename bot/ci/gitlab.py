"""GitLab: the Pipeline Hook, terminal states only."""

from __future__ import annotations

from typing import Any

from bot.ci.service.events import Commit, Ignored, RunEvent, outcome_of
from bot.ci.service.payloads import Payload, Time

EVENT = "Pipeline Hook"
GREEN = {"success"}
RED = {"failed"}
TERMINAL = {"success", "failed", "canceled", "skipped"}
# Merge-request pipelines run on the MR's merge ref, not on the branch they name.
IGNORED_SOURCES = {"merge_request_event", "external_pull_request_event", "parent_pipeline"}


class Attributes(Payload):
    id: int
    iid: int | None = None
    name: str | None = None
    ref: str
    tag: bool = False
    sha: str
    source: str | None = None
    status: str
    created_at: Time
    finished_at: Time | None = None
    url: str | None = None


class Project(Payload):
    path_with_namespace: str
    default_branch: str | None = None
    web_url: str | None = None


class Author(Payload):
    name: str | None = None
    email: str | None = None


class CommitInfo(Payload):
    id: str
    message: str | None = None
    url: str | None = None
    author: Author | None = None


class PipelinePayload(Payload):
    object_kind: str
    object_attributes: Attributes
    project: Project
    commit: CommitInfo | None = None


def parse(event: str, payload: dict[str, Any]) -> RunEvent | Ignored:
    """Raises pydantic.ValidationError when a pipeline payload is missing what we need."""
    if event != EVENT:
        return Ignored(f"event {event!r} is not handled")
    data = PipelinePayload.model_validate(payload)
    run = data.object_attributes
    if data.object_kind != "pipeline":
        return Ignored(f"object_kind {data.object_kind!r}")
    if run.status not in TERMINAL:
        return Ignored(f"pipeline status {run.status!r} is not final")
    if run.tag or (run.source or "") in IGNORED_SOURCES:
        return Ignored("pipeline for a tag or a merge request")
    finished = run.finished_at or run.created_at
    return RunEvent(
        provider="gitlab",
        repo=data.project.path_with_namespace,
        branch=run.ref,
        default_branch=data.project.default_branch,
        workflow=run.name or "pipeline",
        # A retried pipeline finishes again under the same id: each finish is a run.
        external_id=f"{run.id}-{int(finished.timestamp())}",
        attempt=1,
        number=str(run.iid or run.id),
        sha=run.sha,
        conclusion=run.status,
        outcome=outcome_of(run.status, GREEN, RED),
        created_at=run.created_at,
        completed_at=finished,
        url=run.url,
        title=_first_line(data.commit.message if data.commit else None),
        commits=_commits(data.commit),
    )


def _first_line(message: str | None) -> str | None:
    lines = (message or "").strip().splitlines()
    return lines[0] if lines else None


def _commits(commit: CommitInfo | None) -> tuple[Commit, ...]:
    if commit is None:
        return ()
    author = commit.author or Author()
    return (
        Commit(
            sha=commit.id,
            message=commit.message,
            url=commit.url,
            author_name=author.name,
            author_email=author.email,
        ),
    )


def delivery_key(headers: dict[str, str], payload: dict[str, Any]) -> str:
    """GitLab's idempotency key (kept across retries), else the event UUID, else the run."""
    for name in ("idempotency-key", "x-gitlab-event-uuid"):
        if headers.get(name):
            return headers[name]
    attributes = payload.get("object_attributes")
    attributes = attributes if isinstance(attributes, dict) else {}
    return f"{attributes.get('id')}:{attributes.get('status')}:{attributes.get('finished_at')}"
