"""Every bad or unhandled delivery gets its status code and leaves every table as it was."""

from __future__ import annotations

import datetime as dt
import json
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from typing import Any

import pytest

from bot.ci.handlers.webhooks import GITHUB_MAX_BODY
from bot.core.db import utcnow
from bot.sandbox.ci_samples import fixture, github_headers, workflow_run
from tests.ci.conftest import BUILDKITE_TOKEN, GITHUB_SECRET, GITLAB_TOKEN, ci_bot
from tests.ci.test_gitlab_buildkite_e2e import build, buildkite_signature, pipeline
from tests.rows import row_counts

GITHUB_CAP = GITHUB_MAX_BODY  # GitHub's own 25 MB, enforced by the front door


@dataclass
class Case:
    path: str
    body: bytes | Callable[[], AsyncIterator[bytes]]
    headers: dict[str, str] = field(default_factory=dict)


def red_run(**changes: Any) -> dict[str, Any]:
    return (
        workflow_run(
            conclusion="failure", sha="9" * 40, run_id=77, created=utcnow() - dt.timedelta(hours=1)
        )
        | changes
    )


def signed(payload: Any, event: str = "workflow_run", raw: bytes | None = None) -> Case:
    body = raw if raw is not None else json.dumps(payload).encode()
    return Case("/webhooks/github", body, github_headers(GITHUB_SECRET, body, event))


def tampered_github() -> Case:
    case = signed(red_run())
    case.headers["X-Hub-Signature-256"] = "sha256=" + "0" * 64
    return case


def unsigned_github() -> Case:
    case = signed(red_run())
    del case.headers["X-Hub-Signature-256"]
    return case


def sha1_github() -> Case:
    case = signed(red_run())
    case.headers["X-Hub-Signature-256"] = case.headers["X-Hub-Signature-256"].replace("256", "1")
    return case


def with_run(**changes: Any) -> Case:
    payload = red_run()
    payload["workflow_run"].update(changes)
    return signed(payload)


def missing_run_id() -> Case:
    payload = red_run()
    del payload["workflow_run"]["id"]
    return signed(payload)


def huge_declared() -> Case:
    return Case("/webhooks/github", b"{" + b" " * GITHUB_CAP + b"}", {"X-GitHub-Event": "ping"})


def huge_streamed() -> Case:
    async def chunks() -> AsyncIterator[bytes]:
        for _ in range(GITHUB_CAP // (1024 * 1024) + 1):
            yield b" " * (1024 * 1024)

    return Case("/webhooks/github", chunks, {"X-GitHub-Event": "ping"})


def gitlab_case(
    payload: Any,
    token: str | None = GITLAB_TOKEN,
    event: str = "Pipeline Hook",
    raw: bytes | None = None,
) -> Case:
    headers = {"X-Gitlab-Event": event}
    if token is not None:
        headers["X-Gitlab-Token"] = token
    return Case(
        "/webhooks/gitlab", raw if raw is not None else json.dumps(payload).encode(), headers
    )


def merge_request_pipeline() -> Case:
    payload = pipeline("failed", "1" * 40, 40, 0)
    payload["object_attributes"]["source"] = "merge_request_event"
    return gitlab_case(payload)


def buildkite_case(
    payload: Any,
    *,
    signature: str | None = None,
    token: str | None = None,
    raw: bytes | None = None,
) -> Case:
    body = raw if raw is not None else json.dumps(payload).encode()
    event = (
        payload.get("event", "build.finished") if isinstance(payload, dict) else "build.finished"
    )
    headers = {"X-Buildkite-Event": event}
    if token is not None:
        headers["X-Buildkite-Token"] = token
    else:
        headers["X-Buildkite-Signature"] = signature or buildkite_signature(body, BUILDKITE_TOKEN)
    return Case("/webhooks/buildkite", body, headers)


def buildkite_ping() -> Case:
    return buildkite_case(
        {"event": "ping", "service": {"id": "c9f8372d"}, "organization": {}, "sender": {}}
    )


def buildkite_started() -> Case:
    payload = build("running", "2" * 40, "b-2", 2, 0)
    payload["event"] = "build.started"
    return buildkite_case(payload)


CASES: dict[str, tuple[Callable[[], Case], int]] = {
    "github bad signature": (tampered_github, 401),
    "github no signature": (unsigned_github, 401),
    "github sha1 signature": (sha1_github, 401),
    "github malformed json": (lambda: signed(None, raw=b'{"action": "completed",'), 400),
    "github json not an object": (lambda: signed([1, 2, 3]), 400),
    "github run without id": (missing_run_id, 400),
    "github run with bad time": (lambda: with_run(created_at="yesterday"), 400),
    "github push event": (lambda: signed({"ref": "refs/heads/main"}, event="push"), 202),
    "github run requested": (lambda: signed(red_run(action="requested")), 202),
    "github run in progress": (lambda: with_run(status="in_progress"), 202),
    "github branch not routed": (lambda: with_run(head_branch="feature/x"), 202),
    "github pull request run": (lambda: with_run(event="pull_request"), 202),
    "github ping": (lambda: signed(fixture("ping.json"), event="ping"), 200),
    "github body over 25 MB": (huge_declared, 413),
    "github streamed body over 25 MB": (huge_streamed, 413),
    "gitlab wrong token": (lambda: gitlab_case(pipeline("failed", "1" * 40, 40, 0), "x"), 401),
    "gitlab no token": (lambda: gitlab_case(pipeline("failed", "1" * 40, 40, 0), None), 401),
    "gitlab malformed json": (lambda: gitlab_case(None, raw=b"object_kind=pipeline"), 400),
    "gitlab missing sha": (
        lambda: gitlab_case(
            {"object_kind": "pipeline", "object_attributes": {"id": 1}, "project": {}}
        ),
        400,
    ),
    "gitlab pipeline running": (lambda: gitlab_case(pipeline("running", "1" * 40, 40, 0)), 202),
    "gitlab push hook": (lambda: gitlab_case({"object_kind": "push"}, event="Push Hook"), 202),
    "gitlab merge request pipeline": (merge_request_pipeline, 202),
    "buildkite bad signature": (
        lambda: buildkite_case(
            build("failed", "2" * 40, "b-1", 1, 0),
            signature=f"timestamp={int(time.time())},signature={'0' * 64}",
        ),
        401,
    ),
    "buildkite stale signature": (
        lambda: buildkite_case(
            build("failed", "2" * 40, "b-1", 1, 0),
            signature=f"timestamp={int(time.time()) - 600},signature={'0' * 64}",
        ),
        401,
    ),
    "buildkite wrong token": (
        lambda: buildkite_case(build("failed", "2" * 40, "b-1", 1, 0), token="nope"),
        401,
    ),
    "buildkite malformed json": (lambda: buildkite_case(None, raw=b"\xff\xfe not json"), 400),
    "buildkite build started": (buildkite_started, 202),
    "buildkite ping": (buildkite_ping, 200),
}


@pytest.mark.parametrize("provider", ["github", "gitlab", "buildkite"])
async def test_bad_input_answers_and_writes_nothing(db_url: str, provider: str) -> None:
    async with ci_bot(db_url) as bot:
        await bot.rt.scheduler.stop()  # nothing else may write while we count
        before = await row_counts(bot.rt.sessions)
        wrong: list[str] = []
        for name, (make, expected) in CASES.items():
            if not name.startswith(provider):
                continue
            case = make()
            body = case.body() if callable(case.body) else case.body
            answer = await bot.http.post(case.path, content=body, headers=case.headers)
            reason = answer.json().get("error") if expected >= 400 else "-"
            if answer.status_code != expected or not isinstance(answer.json(), dict) or not reason:
                wrong.append(f"{name}: {answer.status_code} {answer.text[:200]}")
            await bot.settle()
            if await row_counts(bot.rt.sessions) != before:
                wrong.append(f"{name}: left rows behind")
                before = await row_counts(bot.rt.sessions)
        assert wrong == []
        assert [c.method for c in bot.state.calls if c.method.startswith("chat.")] == []


@pytest.mark.parametrize(
    ("path", "setting"),
    [
        ("/webhooks/github", "GITHUB_WEBHOOK_SECRET"),
        ("/webhooks/gitlab", "GITLAB_WEBHOOK_TOKEN"),
        ("/webhooks/buildkite", "BUILDKITE_WEBHOOK_TOKEN"),
    ],
)
async def test_unconfigured_provider_says_which_setting(
    db_url: str, path: str, setting: str
) -> None:
    unset = {
        "github_webhook_secret": None,
        "gitlab_webhook_token": None,
        "buildkite_webhook_token": None,
    }
    async with ci_bot(db_url, **unset) as bot:
        await bot.rt.scheduler.stop()
        before = await row_counts(bot.rt.sessions)
        answer = await bot.http.post(path, content=b"{}", headers={"X-GitHub-Event": "ping"})
        assert answer.status_code == 503
        assert setting in answer.json()["error"]
        assert await row_counts(bot.rt.sessions) == before
