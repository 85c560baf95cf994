"""GitLab Pipeline Hooks and Buildkite build.finished, shaped as their documentation shows."""

from __future__ import annotations

import copy
import datetime as dt
import json
import time
import uuid
from functools import cache
from pathlib import Path
from typing import Any

import httpx

from bot.core.db import utcnow
from bot.core.signatures import hmac_sha256_hex
from bot.sandbox.harness import BotUnderTest
from tests.ci.conftest import BUILDKITE_TOKEN, GITLAB_TOKEN, ci_bot

FIXTURES = Path(__file__).parent / "fixtures"
BASE = utcnow().replace(microsecond=0) - dt.timedelta(hours=2)


@cache
def _load(name: str) -> dict[str, Any]:
    return json.loads((FIXTURES / name).read_text())


def _gitlab_time(moment: dt.datetime) -> str:
    return moment.strftime("%Y-%m-%d %H:%M:%S UTC")


def pipeline(status: str, sha: str, pipeline_id: int, minute: int) -> dict[str, Any]:
    payload = copy.deepcopy(_load("gitlab/pipeline_hook.success.json"))
    created = BASE + dt.timedelta(minutes=minute)
    payload["object_attributes"].update(
        id=pipeline_id,
        iid=pipeline_id - 28,
        sha=sha,
        status=status,
        created_at=_gitlab_time(created),
        finished_at=_gitlab_time(created + dt.timedelta(minutes=3)),
        url=f"http://example.com/gitlab-org/gitlab-test/-/pipelines/{pipeline_id}",
    )
    payload["commit"]["id"] = sha
    return payload


async def gitlab(
    bot: BotUnderTest, payload: dict[str, Any], token: str = GITLAB_TOKEN
) -> httpx.Response:
    headers = {
        "Content-Type": "application/json",
        "X-Gitlab-Event": "Pipeline Hook",
        "X-Gitlab-Token": token,
        "X-Gitlab-Event-UUID": str(uuid.uuid4()),
    }
    return await bot.http.post("/webhooks/gitlab", content=json.dumps(payload), headers=headers)


def build(state: str, sha: str, build_id: str, number: int, minute: int) -> dict[str, Any]:
    payload = copy.deepcopy(_load("buildkite/build.finished.json"))
    created = BASE + dt.timedelta(minutes=minute)
    iso = "%Y-%m-%dT%H:%M:%S.000Z"
    payload["build"].update(
        id=build_id,
        number=number,
        state=state,
        commit=sha,
        web_url=f"https://buildkite.com/acme-inc/my-pipeline/builds/{number}",
        created_at=created.strftime(iso),
        finished_at=(created + dt.timedelta(minutes=3)).strftime(iso),
    )
    return payload


def buildkite_signature(body: bytes, secret: str, timestamp: int | None = None) -> str:
    stamp = str(timestamp if timestamp is not None else int(time.time()))
    return f"timestamp={stamp},signature={hmac_sha256_hex(secret, stamp.encode() + b'.' + body)}"


async def buildkite(
    bot: BotUnderTest, payload: dict[str, Any], *, use_token: bool = False
) -> httpx.Response:
    body = json.dumps(payload).encode()
    headers = {"Content-Type": "application/json", "X-Buildkite-Event": payload["event"]}
    if use_token:
        headers["X-Buildkite-Token"] = BUILDKITE_TOKEN
    else:
        headers["X-Buildkite-Signature"] = buildkite_signature(body, BUILDKITE_TOKEN)
    return await bot.http.post("/webhooks/buildkite", content=body, headers=headers)


async def test_gitlab_red_red_green(db_url: str) -> None:
    async with ci_bot(db_url) as bot:
        effects = []
        for status, sha, pid, minute in [
            ("success", "f0" * 20, 30, 0),
            ("failed", "f1" * 20, 31, 10),
            ("running", "f2" * 20, 32, 20),
            ("failed", "f2" * 20, 32, 20),
            ("success", "f3" * 20, 33, 30),
        ]:
            answer = await gitlab(bot, pipeline(status, sha, pid, minute))
            assert answer.status_code == 202
            effects.append(answer.json().get("effect", answer.json().get("ignored")))
        assert effects == [
            "green",
            "opened",
            "pipeline status 'running' is not final",
            "attached",
            "fixed",
        ]
        await bot.settle()
        [card] = bot.state.messages("C0CI")
        assert card.text.startswith(":large_green_circle: gitlab-org/gitlab-test master")
        replies = bot.state.replies("C0CI", card.ts)
        assert [r.text.split(":")[1] for r in replies] == ["red_circle", "large_green_circle"]
        assert "/-/pipelines/32|" in replies[0].text


async def test_gitlab_wrong_token_is_refused(db_url: str) -> None:
    async with ci_bot(db_url) as bot:
        answer = await gitlab(bot, pipeline("failed", "f1" * 20, 31, 10), token="guess")
        assert answer.status_code == 401
        assert bot.state.messages("C0CI") == []


async def test_buildkite_failed_build_retried_to_pass_is_a_flake(db_url: str) -> None:
    async with ci_bot(db_url) as bot:
        build_id = "f62a1b4d-10f9-4790-bc1c-e2c3a0c80983"
        first = await buildkite(bot, build("failed", "ab" * 20, build_id, 7, 0))
        assert first.status_code == 202 and first.json()["effect"] == "opened"
        same = await buildkite(bot, build("failed", "ab" * 20, build_id, 7, 0), use_token=True)
        assert same.status_code == 200 and same.json() == {"duplicate": True}
        retried = await buildkite(bot, build("passed", "ab" * 20, build_id, 7, 0))
        assert retried.json()["effect"] == "flaky"
        await bot.settle()
        [card] = bot.state.messages("C0CI")
        assert "acme-inc/my-pipeline main" in card.text and "flaky" in card.text
        assert "My Pipeline" in card.text


async def test_buildkite_stale_signature_is_refused(db_url: str) -> None:
    async with ci_bot(db_url) as bot:
        body = json.dumps(build("failed", "ab" * 20, "b-1", 1, 0)).encode()
        old = buildkite_signature(body, BUILDKITE_TOKEN, int(time.time()) - 301)
        answer = await bot.http.post(
            "/webhooks/buildkite",
            content=body,
            headers={"X-Buildkite-Event": "build.finished", "X-Buildkite-Signature": old},
        )
        assert answer.status_code == 401 and "stale" in answer.json()["error"]
