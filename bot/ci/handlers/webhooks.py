"""`POST /webhooks/github|gitlab|buildkite`: verify, parse, claim the delivery, store, answer.

The handler does only database work, so it answers in milliseconds; Slack cards and suspect
lookups happen afterwards through the projector and the task queue. Deliveries arriving together
share one transaction (`Batcher`): their claims go in one statement, each run is recorded in its
own savepoint, in arrival order, and each sender hears its answer after the commit.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from pydantic import ValidationError

from bot.agents import service as agents
from bot.ci import buildkite, github, gitlab
from bot.ci.service import Ingested
from bot.ci.service.events import GREEN, RED, Ignored, RunEvent
from bot.ci.service.routing import routes_for
from bot.ci.settings import SECTION as CI
from bot.ci.workflows import (
    FAILED,
    REDELIVERED,
    Delivery,
    store_attempt_run,
    store_deliveries,
)
from bot.config import reveal
from bot.core.batching import Batcher
from bot.core.frontdoor import MB, BadRequest, body_cap, loads_object
from bot.core.redaction import FORGE_STRUCTURAL_KEYS, redact_payload
from bot.core.signatures import (
    SignatureError,
    verify_buildkite,
    verify_github_signature,
    verify_gitlab_token,
)

if TYPE_CHECKING:
    from bot.feature import FeatureContext

log = logging.getLogger(__name__)

# Body caps, enforced by the front door before a body is read (see bot.core.frontdoor).
# GitHub caps webhook payloads at 25 MB and drops larger ones.
GITHUB_MAX_BODY = 25 * MB
# GitLab does not send webhook payloads larger than 25 MB (gitlab-org/gitlab!38687).
GITLAB_MAX_BODY = 25 * MB
# Buildkite documents no cap; its build events carry no job data and stay far below this.
BUILDKITE_MAX_BODY = 5 * MB
Parser = Callable[[], RunEvent | Ignored]


class Rejected(Exception):
    def __init__(self, status: int, error: str) -> None:
        super().__init__(error)
        self.status = status
        self.error = error


def _answer(status: int, **body: Any) -> JSONResponse:
    return JSONResponse(body, status_code=status)


def _object(body: bytes) -> dict[str, Any]:
    try:
        payload = loads_object(body)
    except BadRequest as error:
        raise Rejected(error.status, error.reason) from None
    # Commit messages and logs carry pasted credentials: nothing unredacted is stored.
    redacted: dict[str, Any] = redact_payload(payload, keep=FORGE_STRUCTURAL_KEYS)
    return redacted


def _not_configured(provider: str, setting: str) -> JSONResponse:
    return _answer(
        503, error=f"{provider} webhooks are not configured: set {setting}", setting=setting
    )


async def _accept(
    rt: FeatureContext,
    store: Batcher[Delivery, Ingested],
    provider: str,
    delivery: str,
    parse: Parser,
) -> JSONResponse:
    try:
        event = parse()
    except ValidationError as error:
        where = ".".join(str(part) for part in error.errors()[0]["loc"])
        raise Rejected(400, f"payload is missing or has a bad {where or 'field'}") from None
    if isinstance(event, Ignored):
        return _answer(202, ignored=event.reason)
    if agents.attempt_of_branch(event.branch) is not None:
        return await _attempt(rt, provider, delivery, event)
    routed = routes_for(
        rt.settings.section(CI).routes, event.repo, event.branch, event.default_branch
    )
    if not routed:
        return _answer(202, ignored=f"{event.repo} {event.branch} is not routed in ci.routes")
    outcome = await store.submit(Delivery(provider, delivery, event, routed[0], tuple(routed[1:])))
    if outcome == FAILED:
        return _answer(503, error="the run could not be stored; deliver it again")
    if outcome == REDELIVERED:
        return _answer(200, duplicate=True)
    return _answer(202, accepted=True, effect=outcome.effect)


async def _attempt(
    rt: FeatureContext, provider: str, delivery: str, event: RunEvent
) -> JSONResponse:
    """A run on a coding agent's attempt branch: it marks the attempt, and is not tracked."""
    if event.outcome not in (GREEN, RED):
        return _answer(202, ignored=f"a {event.conclusion} run says nothing of the attempt")
    outcome = await store_attempt_run(rt.sessions, provider, delivery, event)
    if outcome == REDELIVERED:
        return _answer(200, duplicate=True)
    if outcome.effect != "attempt":
        return _answer(202, ignored=f"no agent attempt of {event.repo} has {event.branch}")
    return _answer(202, accepted=True, effect=outcome.effect)


def router(rt: FeatureContext) -> APIRouter:
    api = APIRouter()
    store: Batcher[Delivery, Ingested] = Batcher(
        lambda deliveries: store_deliveries(rt.sessions, deliveries)
    )
    rt.on_stop(store.close)

    async def guarded(handle: Callable[[], Awaitable[JSONResponse]]) -> JSONResponse:
        try:
            return await handle()
        except Rejected as rejected:
            return _answer(rejected.status, error=rejected.error)
        except SignatureError as error:
            return _answer(401, error=f"invalid signature: {error.reason}")

    @api.post("/webhooks/github", openapi_extra=body_cap(GITHUB_MAX_BODY))
    async def github_webhook(request: Request) -> JSONResponse:
        secret = reveal(rt.settings.github_webhook_secret)
        if not secret:
            return _not_configured("GitHub", "GITHUB_WEBHOOK_SECRET")

        async def handle() -> JSONResponse:
            body = await request.body()  # capped by the front door
            verify_github_signature(secret, body, request.headers.get("x-hub-signature-256"))
            payload = _object(body)
            event = request.headers.get("x-github-event", "")
            if event == "ping":
                return _answer(200, ok=True, pong=True)
            delivery = request.headers.get("x-github-delivery") or _fallback_key(payload)
            return await _accept(
                rt, store, "github", delivery, lambda: github.parse(event, payload)
            )

        return await guarded(handle)

    @api.post("/webhooks/gitlab", openapi_extra=body_cap(GITLAB_MAX_BODY))
    async def gitlab_webhook(request: Request) -> JSONResponse:
        token = reveal(rt.settings.gitlab_webhook_token)
        if not token:
            return _not_configured("GitLab", "GITLAB_WEBHOOK_TOKEN")

        async def handle() -> JSONResponse:
            body = await request.body()  # capped by the front door
            verify_gitlab_token(token, request.headers.get("x-gitlab-token"))
            payload = _object(body)
            event = request.headers.get("x-gitlab-event", "")
            delivery = gitlab.delivery_key(dict(request.headers), payload)
            return await _accept(
                rt, store, "gitlab", delivery, lambda: gitlab.parse(event, payload)
            )

        return await guarded(handle)

    @api.post("/webhooks/buildkite", openapi_extra=body_cap(BUILDKITE_MAX_BODY))
    async def buildkite_webhook(request: Request) -> JSONResponse:
        token = reveal(rt.settings.buildkite_webhook_token)
        if not token:
            return _not_configured("Buildkite", "BUILDKITE_WEBHOOK_TOKEN")

        async def handle() -> JSONResponse:
            body = await request.body()  # capped by the front door
            verify_buildkite(
                body,
                secret=token,
                signature_header=request.headers.get("x-buildkite-signature"),
                token=token,
                token_header=request.headers.get("x-buildkite-token"),
            )
            payload = _object(body)
            event = request.headers.get("x-buildkite-event", "")
            if event == "ping":
                return _answer(200, ok=True, pong=True)
            delivery = buildkite.delivery_key(payload)
            return await _accept(
                rt, store, "buildkite", delivery, lambda: buildkite.parse(event, payload)
            )

        return await guarded(handle)

    return api


def _fallback_key(payload: dict[str, Any]) -> str:
    """Without X-GitHub-Delivery, the run itself (id, attempt, action) identifies the delivery."""
    run = payload.get("workflow_run") or payload.get("check_suite")
    run = run if isinstance(run, dict) else {}
    attempt = run.get("run_attempt", run.get("updated_at"))
    return f"{run.get('id')}:{attempt}:{payload.get('action')}"
