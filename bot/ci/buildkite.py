"""Buildkite: `build.finished`."""

from __future__ import annotations

import re
from typing import Any

from bot.ci.service.events import Commit, Ignored, RunEvent, outcome_of
from bot.ci.service.payloads import Payload, Person, Time

EVENT = "build.finished"
GREEN = {"passed"}
RED = {"failed"}
_REPO = re.compile(r"[:/]([\w.-]+)/([\w.-]+?)(?:\.git)?/?$")


class Build(Payload):
    id: str
    number: int | None = None
    state: str
    message: str | None = None
    commit: str
    branch: str
    tag: str | None = None
    web_url: str | None = None
    created_at: Time
    finished_at: Time | None = None
    pull_request: dict[str, Any] | None = None
    author: Person | None = None
    creator: Person | None = None


class Pipeline(Payload):
    name: str | None = None
    slug: str
    repository: str | None = None
    default_branch: str | None = None


class BuildPayload(Payload):
    event: str
    build: Build
    pipeline: Pipeline


def repo_name(repository: str | None, fallback: str) -> str:
    """`git@github.com:acme/app.git` and `https://github.com/acme/app` both give `acme/app`."""
    match = _REPO.search(repository or "")
    return f"{match.group(1)}/{match.group(2)}" if match else fallback


def parse(event: str, payload: dict[str, Any]) -> RunEvent | Ignored:
    """Raises pydantic.ValidationError when a build payload is missing what we need."""
    if event != EVENT:
        return Ignored(f"event {event!r} is not handled")
    data = BuildPayload.model_validate(payload)
    build, pipeline = data.build, data.pipeline
    if build.pull_request or build.tag:
        return Ignored("build for a pull request or a tag")
    finished = build.finished_at or build.created_at
    person = build.author or build.creator or Person()
    return RunEvent(
        provider="buildkite",
        repo=repo_name(pipeline.repository, pipeline.slug),
        branch=build.branch,
        default_branch=pipeline.default_branch,
        workflow=pipeline.name or pipeline.slug,
        # A build whose jobs are retried finishes again with the same id: each finish is a run.
        external_id=f"{build.id}-{build.state}-{int(finished.timestamp())}",
        attempt=1,
        number=str(build.number) if build.number is not None else None,
        sha=build.commit,
        conclusion=build.state,
        outcome=outcome_of(build.state, GREEN, RED),
        created_at=build.created_at,
        completed_at=finished,
        url=build.web_url,
        title=build.message,
        commits=(
            Commit(
                sha=build.commit,
                message=build.message,
                author_name=person.name,
                author_email=person.email,
                author_login=person.username,
            ),
        ),
    )


def delivery_key(payload: dict[str, Any]) -> str:
    build = payload.get("build")
    build = build if isinstance(build, dict) else {}
    return f"{build.get('id')}:{build.get('state')}"
