"""Demo act: main goes red, stays red, a flaky workflow is caught, then a fix turns it green."""

from __future__ import annotations

import datetime as dt
import json
from typing import TYPE_CHECKING, Any

from bot.config import reveal
from bot.core.db import utcnow
from bot.sandbox.ci_samples import github_headers, workflow_run

if TYPE_CHECKING:
    from bot.sandbox.harness import BotUnderTest

REPO = "octo-org/octo-repo"


def _sha(seed: str) -> str:
    return (seed * 40)[:40]


async def deliver(bot: BotUnderTest, out: list[str], say: str, **run: Any) -> None:
    payload = workflow_run(repo=REPO, **run)
    body = json.dumps(payload).encode()
    secret = reveal(bot.rt.settings.github_webhook_secret) or ""
    response = await bot.http.post(
        "/webhooks/github", content=body, headers=github_headers(secret, body)
    )
    effect = response.json().get("effect", response.json().get("error", ""))
    out.append(f"{say}\n  -> HTTP {response.status_code} ({effect})")
    await bot.settle(timeout=30)


def _scene(at: Any) -> list[tuple[str, dict[str, Any]]]:
    bob = {"author_name": "Bob Chen", "author_email": "bob@example.com"}
    green, red = {"conclusion": "success"}, {"conclusion": "failure"}
    return [
        ("`test` passes on main", {**green, "sha": _sha("0"), "run_id": 9001, "created": at(0)}),
        ("`lint` passes on main", {**green, "sha": _sha("0"), "run_id": 9002, "created": at(0),
                                   "workflow": "lint"}),
        ("Bob's push breaks `test` on main (a red run)",
         {**red, "sha": _sha("b"), "run_id": 9003, "created": at(10),
          "message": "Cache parsed configs", **bob}),
        ("the next push fails `test` too (a second red run)",
         {**red, "sha": _sha("c"), "run_id": 9004, "created": at(20), "message": "Tidy README"}),
        ("`lint` fails on that same push...",
         {**red, "sha": _sha("c"), "run_id": 9005, "created": at(20), "workflow": "lint"}),
        ("...and passes on a re-run of the very same commit (a flake)",
         {**green, "sha": _sha("c"), "run_id": 9005, "attempt": 2, "created": at(20),
          "completed": at(27), "workflow": "lint"}),
        ("Bob's fix turns `test` green again",
         {**green, "sha": _sha("f"), "run_id": 9006, "created": at(30), "completed": at(38),
          "message": "Invalidate the config cache on reload", **bob}),
    ]  # fmt: skip


async def act(bot: BotUnderTest, out: list[str]) -> None:
    start = utcnow().replace(microsecond=0) - dt.timedelta(minutes=50)
    for say, run in _scene(lambda minutes: start + dt.timedelta(minutes=minutes)):
        await deliver(bot, out, f"GitHub: {say}", **run)
    for text in ("status", f"history {REPO} main"):
        response = await bot.slack.command("/ci", text, user="U0ALICE")
        out.append(f"alice: /ci {text}\n  -> HTTP {response.status_code}, answered ephemerally")
