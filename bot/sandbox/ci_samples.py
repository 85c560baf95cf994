"""Real GitHub payloads (octokit/webhooks examples, MIT, in `fixtures/github/` beside this
module) turned into the runs a scene needs.

Both shipped `workflow_run` examples are successes; a red build is the same payload with another
`conclusion`, `head_sha` and `run_attempt`. Used by the demo act (`acts/ci.py`), by the tests and
by the benchmarks; product code (`bot/ci`) never imports it.
"""

from __future__ import annotations

import copy
import datetime as dt
import uuid
from functools import cache
from pathlib import Path
from typing import Any

from bot.core.frontdoor import loads_object
from bot.core.signatures import hmac_sha256_hex

FIXTURES = Path(__file__).parent / "fixtures" / "github"


@cache
def _fixture(name: str) -> dict[str, Any]:
    return loads_object((FIXTURES / name).read_text())


def fixture(name: str) -> dict[str, Any]:
    """A fresh copy of a shipped payload example, e.g. `ping.json`."""
    return copy.deepcopy(_fixture(name))


def _iso(moment: dt.datetime) -> str:
    return moment.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def workflow_run(
    *,
    conclusion: str,
    sha: str,
    run_id: int,
    created: dt.datetime,
    attempt: int = 1,
    completed: dt.datetime | None = None,
    branch: str = "main",
    workflow: str = "test",
    repo: str = "octo-org/octo-repo",
    author_name: str = "Matthias Fax",
    author_email: str = "matfax@users.noreply.github.com",
    message: str = "build(test): check workflow run event payload",
) -> dict[str, Any]:
    """The shipped `workflow_run.completed` example, changed into the run described."""
    payload = fixture("workflow_run.completed.json")
    run = payload["workflow_run"]
    html = f"https://github.com/{repo}"
    run.update(
        id=run_id,
        run_number=run_id % 10_000,
        run_attempt=attempt,
        conclusion=conclusion,
        head_sha=sha,
        head_branch=branch,
        created_at=_iso(created),
        run_started_at=_iso(created),
        updated_at=_iso(completed or created + dt.timedelta(minutes=4)),
        html_url=f"{html}/actions/runs/{run_id}" + (f"/attempts/{attempt}" if attempt > 1 else ""),
    )
    run["head_commit"].update(
        id=sha,
        message=message,
        timestamp=_iso(created - dt.timedelta(minutes=1)),
        author={"name": author_name, "email": author_email},
    )
    run["repository"]["full_name"] = run["head_repository"]["full_name"] = repo
    payload["workflow"]["name"] = workflow
    payload["repository"].update(full_name=repo, default_branch=branch, html_url=html)
    return payload


def github_headers(secret: str, body: bytes, event: str = "workflow_run") -> dict[str, str]:
    """What GitHub sends with a delivery: event name, delivery id and the HMAC of the body."""
    return {
        "Content-Type": "application/json",
        "User-Agent": "GitHub-Hookshot/abc1234",
        "X-GitHub-Event": event,
        "X-GitHub-Delivery": str(uuid.uuid4()),
        "X-Hub-Signature-256": "sha256=" + hmac_sha256_hex(secret, body),
    }
