"""Suspects: GitHub's compare API when a token is set, Slack users by email or config map."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from bot.ci.github import api
from bot.ci.models import CiAuthor, CiBreakage
from bot.core.signatures import SignatureError, verify_github_signature
from tests.ci.conftest import CI_CONFIG, GITHUB_SECRET, ci_bot
from tests.ci.test_github_e2e import run, send

GREEN_SHA, RED_SHA = "a0" * 20, "a3" * 20


def commit(sha: str, name: str, email: str, message: str) -> dict[str, Any]:
    return {
        "sha": sha,
        "html_url": f"https://github.com/octo-org/octo-repo/commit/{sha}",
        "author": {"login": name.lower()},
        "commit": {"author": {"name": name, "email": email}, "message": message},
    }


def fake_github(monkeypatch: pytest.MonkeyPatch, status: int = 200) -> list[httpx.Request]:
    seen: list[httpx.Request] = []
    body = {
        "commits": [
            commit("a1" * 20, "Alice", "alice@example.com", "Add cache"),
            commit("a2" * 20, "Bob", "BOB@example.com", "Tune cache"),
            commit(RED_SHA, "Alice", "alice@example.com", "Use cache everywhere"),
        ]
    }

    def answer(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(status, json=body if status == 200 else {"message": "boom"})

    monkeypatch.setattr(
        api,
        "make_http_client",
        lambda url=api.API_URL: httpx.AsyncClient(
            base_url=url, transport=httpx.MockTransport(answer)
        ),
    )
    return seen


async def test_compare_api_widens_suspects_and_each_author_is_pinged_once(
    db_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    seen = fake_github(monkeypatch)
    config = {**CI_CONFIG, "github_token": "ghp_test"}
    async with ci_bot(db_url, ci=config) as bot:
        await send(bot, run("success", GREEN_SHA, 1, 0))
        await send(bot, run("failure", RED_SHA, 2, 10))
        await bot.settle()
        [request] = seen
        assert request.url.path == f"/repos/octo-org/octo-repo/compare/{GREEN_SHA}...{RED_SHA}"
        assert request.headers["Authorization"] == "Bearer ghp_test"
        [card] = bot.state.messages("C0CI")
        blocks = json.dumps(card.blocks)
        assert (
            blocks.index("Use cache everywhere")
            < blocks.index("Tune cache")
            < blocks.index("Add cache")
        )
        [line] = bot.state.replies("C0CI", card.ts)
        assert line.text.count("<@U0ALICE>") == 1 and line.text.count("<@U0BOB>") == 1
        assert len(bot.state.calls_to("users.lookupByEmail")) == 2
        async with bot.rt.sessions() as session:
            cached = {a.email: a.slack_user for a in await session.scalars(select(CiAuthor))}
        assert cached == {"alice@example.com": "U0ALICE", "bob@example.com": "U0BOB"}


async def test_compare_failure_keeps_the_payload_suspect(
    db_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    seen = fake_github(monkeypatch, status=500)
    config = {**CI_CONFIG, "github_token": "ghp_test"}
    async with ci_bot(db_url, ci=config) as bot:
        await send(bot, run("success", GREEN_SHA, 1, 0))
        await send(bot, run("failure", RED_SHA, 2, 10, author_email="erin@example.com"))
        await bot.settle()
        assert len(seen) == 1
        [card] = bot.state.messages("C0CI")
        assert "a3a3a3a" in json.dumps(card.blocks) and "Tune cache" not in json.dumps(card.blocks)
        [line] = bot.state.replies("C0CI", card.ts)
        assert "<@U0ERIN>" in line.text
        async with bot.rt.sessions() as session:
            assert (await session.scalar(select(CiBreakage))).suspects_ready  # type: ignore[union-attr]


async def test_config_map_needs_no_lookup_and_no_token_means_no_github_call(
    db_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    seen = fake_github(monkeypatch)
    config = {**CI_CONFIG, "authors": {"MatFax@users.noreply.github.com": "U0DAVE"}}
    async with ci_bot(db_url, ci=config) as bot:
        await send(bot, run("success", GREEN_SHA, 1, 0))
        await send(bot, run("failure", RED_SHA, 2, 10))
        await bot.settle()
        assert seen == []
        assert bot.state.calls_to("users.lookupByEmail") == []
        [card] = bot.state.messages("C0CI")
        [line] = bot.state.replies("C0CI", card.ts)
        assert "<@U0DAVE>" in line.text


async def test_github_documented_signature_vector(db_url: str) -> None:
    body = b"Hello, World!"
    signature = "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17"
    assert GITHUB_SECRET == "It's a Secret to Everybody"
    verify_github_signature(GITHUB_SECRET, body, signature)
    with pytest.raises(SignatureError):
        verify_github_signature(GITHUB_SECRET, body + b"!", signature)
    async with ci_bot(db_url) as bot:
        headers = {"X-GitHub-Event": "workflow_run", "X-Hub-Signature-256": signature}
        # The signature is right, so the body gets read, and it is not JSON.
        answer = await bot.http.post("/webhooks/github", content=body, headers=headers)
        assert answer.status_code == 400 and "malformed JSON" in answer.json()["error"]
        wrong = {**headers, "X-Hub-Signature-256": signature[:-1] + "0"}
        answer = await bot.http.post("/webhooks/github", content=body, headers=wrong)
        assert answer.status_code == 401
