"""The request pipeline shared by every endpoint: auth, faults, rate limits, recording.

Faults and rate limits are decided before the handler runs so a refused call never
changes the workspace; only `timeout_after_effect` lets the change land first. A handler
runs as its token's `Actor` (`state.actor`): that workspace's bot, seeing that workspace.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from .args import Args
from .errors import SlackError
from .faults import RATELIMITED, SERVER_ERROR, SLOW, TIMEOUT, TIMEOUT_AFTER_EFFECT, Fault
from .models import JsonDict, RecordedCall
from .oauth import WITHOUT_TOKEN, token_error
from .registry import METHODS, Handler
from .tenancy import Actor, token_actor

if TYPE_CHECKING:
    from .state import SandboxState

log = logging.getLogger(__name__)

_TOKEN_PREFIXES = ("xoxb-", "xoxp-")


@dataclass
class Outcome:
    status: int
    body: JsonDict
    headers: dict[str, str] = field(default_factory=dict)
    text: str | None = None  # plain-text answer for endpoints that are not JSON


def slack_error(code: str, status: int = 200) -> Outcome:
    return Outcome(status, {"ok": False, "error": code})


def ratelimited(retry_after: int) -> Outcome:
    return Outcome(429, {"ok": False, "error": "ratelimited"}, {"Retry-After": str(retry_after)})


def fault_outcome(fault: Fault) -> Outcome:
    if fault.kind == RATELIMITED:
        return ratelimited(fault.retry_after)
    if fault.kind == SERVER_ERROR:
        status = fault.status or 500
        code = "service_unavailable" if status == 503 else "internal_error"
        return slack_error(code, status)
    if fault.kind in (TIMEOUT, TIMEOUT_AFTER_EFFECT):
        return slack_error("request_timeout", 504)
    return slack_error(fault.kind)


def auth_error(state: SandboxState, token: str | None, method: str = "") -> str | None:
    if method in WITHOUT_TOKEN:
        return None  # the app's client id and secret are checked by the method
    if not token:
        return "not_authed"
    if token in state.oauth.tokens:  # issued by an install: valid until expired or revoked
        return token_error(state, token)
    if state.valid_tokens is None:
        return None if token.startswith(_TOKEN_PREFIXES) else "invalid_auth"
    return None if token in state.valid_tokens else "invalid_auth"


def token_owner(state: SandboxState, token: str | None) -> Actor | None:
    """The workspace (or org) a token belongs to, valid or not; None for a token that is not
    one: legacy tokens the sandbox accepts belong to the default workspace."""
    issued = state.oauth.tokens.get(token or "")
    if issued is not None or (token and auth_error(state, token) is None):
        return token_actor(state, issued)
    return None


def record(
    state: SandboxState,
    method: str,
    args: dict[str, Any],
    outcome: Outcome,
    at: float,
    fault: str | None = None,
    token: str | None = None,
) -> None:
    response = outcome.body if outcome.text is None else {"ok": True, "text": outcome.text}
    owner = token_owner(state, token)
    call = RecordedCall(method, args, outcome.status, response, at, fault, token)
    if owner is not None:
        call.team_id, call.enterprise_id = owner.team_id, owner.enterprise_id
    state.calls.append(call)


async def call_api(
    state: SandboxState, method: str, raw: dict[str, Any], token: str | None, base: str
) -> Outcome:
    args = Args(raw, base, token)
    started = state.now()
    handler = METHODS.get(method)
    refusal = "unknown_method" if handler is None else auth_error(state, token, method)
    if refusal is not None or handler is None:
        outcome = slack_error(refusal or "unknown_method")
        record(state, method, args.recorded(), outcome, started, token=token)
        return outcome
    return await guarded(
        state,
        method,
        args.recorded(),
        lambda: run_handler(handler, state, args),
        rate_key=args.text("channel") or args.text("channel_id"),
        token=token,
    )


def run_handler(handler: Handler, state: SandboxState, args: Args) -> Outcome:
    actor = token_actor(state, state.oauth.tokens.get(args.token or ""))
    try:
        with state.acting_as(actor):
            return Outcome(200, {"ok": True, **handler(state, args)})
    except SlackError as exc:
        return Outcome(200, exc.body())
    except Exception:
        log.exception("sandbox handler crashed")
        return slack_error("internal_error", 500)


async def guarded(
    state: SandboxState,
    method: str,
    recorded_args: dict[str, Any],
    effect: Callable[[], Outcome],
    rate_key: str | None = "",
    token: str | None = None,
) -> Outcome:
    """Run `effect` unless a fault or rate limit refuses the call; record what was sent.

    rate_key None exempts the endpoint from rate limiting (upload URLs, response_url).
    """
    started = state.now()
    fault = state.faults.take(method)
    if fault is not None and not fault.lets_effect_happen:
        return await _refuse(state, method, recorded_args, fault, started, token)
    if fault is not None and fault.kind == SLOW:
        await state.faults.sleep(state.faults.delay_for(fault))
    retry_after = state.rate_limits.check(method, rate_key) if rate_key is not None else None
    if retry_after is not None:
        outcome = ratelimited(retry_after)
        record(state, method, recorded_args, outcome, started, "rate_limit", token)
        return outcome
    outcome = effect()
    if fault is not None and fault.kind == TIMEOUT_AFTER_EFFECT:
        # The change is made, but the caller never learns: its answer is lost
        return await _refuse(state, method, recorded_args, fault, started, token)
    record(state, method, recorded_args, outcome, started, fault.kind if fault else None, token)
    return outcome


async def _refuse(
    state: SandboxState,
    method: str,
    args: dict[str, Any],
    fault: Fault,
    started: float,
    token: str | None = None,
) -> Outcome:
    outcome = fault_outcome(fault)
    # Recorded before sleeping so a test that already gave up can inspect it
    record(state, method, args, outcome, started, fault.kind, token)
    if fault.kind in (TIMEOUT, TIMEOUT_AFTER_EFFECT):
        await state.faults.sleep(state.faults.delay_for(fault))
    return outcome
