"""The baseline: a Bolt AsyncApp behind FastAPI that only acknowledges.

Same stack as opsbot's front door (uvicorn, FastAPI, Bolt with signature verification), with
no database, so the ratio of the two medians is opsbot's own overhead on this machine.
"""

from __future__ import annotations

import os
import sys

import uvicorn
from fastapi import FastAPI, Request, Response
from slack_bolt.adapter.fastapi.async_handler import AsyncSlackRequestHandler
from slack_bolt.app.async_app import AsyncApp
from slack_bolt.authorization import AuthorizeResult
from slack_sdk.web.async_client import AsyncWebClient


async def authorize(enterprise_id: str | None, team_id: str | None) -> AuthorizeResult:
    return AuthorizeResult(enterprise_id=enterprise_id, team_id=team_id, bot_token="xoxb-bench")


bolt = AsyncApp(
    client=AsyncWebClient(base_url=os.environ.get("SLACK_API_URL", "https://slack.com/api/")),
    signing_secret=os.environ["SLACK_SIGNING_SECRET"],
    authorize=authorize,
    process_before_response=True,
)


@bolt.command("/ops")
async def ops(ack) -> None:  # type: ignore[no-untyped-def]
    await ack(text="ok")


@bolt.event("message")
async def message(ack) -> None:  # type: ignore[no-untyped-def]
    await ack()


api = FastAPI()
handler = AsyncSlackRequestHandler(bolt)


@api.post("/slack/events")
async def events(request: Request) -> Response:
    return await handler.handle(request)


@api.get("/healthz")
async def healthz() -> dict[str, bool]:
    return {"ok": True}


if __name__ == "__main__":
    uvicorn.run(api, host="127.0.0.1", port=int(sys.argv[1]), log_level="warning", access_log=False)
