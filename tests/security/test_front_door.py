"""Protocol abuse on every mounted POST route: size, depth, encoding, time, signatures, noise.

Each test is a property over the routes of the real web app (enumerated from `app.routes`), so a
route added later is in scope without editing this file. Every refusal is a 4xx with a JSON
reason, never a 5xx, and leaves no row behind.
"""

from __future__ import annotations

import gzip
import json
import time
import zlib
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any
from urllib.parse import parse_qsl, urlencode

import httpx
import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.app import build_runtime
from bot.config import Settings
from bot.core.db import utcnow
from bot.core.frontdoor import DEFAULT_MAX_BODY, MAX_JSON_DEPTH, caps_of, mounted_routes
from bot.core.signatures import hmac_sha256_hex
from bot.sandbox import seed
from bot.sandbox.ci_samples import github_headers, workflow_run
from bot.sandbox.harness import BOT_TOKEN, FAST, SIGNING_SECRET, BotUnderTest, running_bot
from bot.sandbox.server import Sandbox
from bot.sandbox.signing import signed_headers
from tests.examples import examples
from tests.rows import row_counts

GITHUB_SECRET = "front-door-github-secret"
GITLAB_TOKEN = "front-door-gitlab-token"
BUILDKITE_TOKEN = "front-door-buildkite-token"
ROUTED = {"repo": "octo-org/octo-repo", "branches": ["main", "master"], "channel": seed.CI_ALERTS}
CONFIG: dict[str, Any] = {
    "github_webhook_secret": GITHUB_SECRET,
    "gitlab_webhook_token": GITLAB_TOKEN,
    "buildkite_webhook_token": BUILDKITE_TOKEN,
    "ci": {"routes": [ROUTED]},
}
Signer = Callable[[bytes, int], dict[str, str]]


def _buildkite(body: bytes, stamp: int) -> dict[str, str]:
    digest = hmac_sha256_hex(BUILDKITE_TOKEN, str(stamp).encode() + b"." + body)
    return {"X-Buildkite-Signature": f"timestamp={stamp},signature={digest}",
            "X-Buildkite-Event": "build.finished"}  # fmt: skip


# How a legitimate sender signs each route it knows; a route missing here is probed unsigned.
SIGNERS: dict[str, Signer] = {
    "/slack/events": lambda body, stamp: signed_headers(SIGNING_SECRET, stamp, body),
    "/webhooks/github": lambda body, _stamp: github_headers(GITHUB_SECRET, body),
    "/webhooks/gitlab": lambda _body, _stamp: {"X-Gitlab-Token": GITLAB_TOKEN,
                                               "X-Gitlab-Event": "Pipeline Hook"},
    "/webhooks/buildkite": _buildkite,
}  # fmt: skip
# Routes whose signature covers a timestamp: a body that is otherwise acceptable, extra headers.
TIMED: dict[str, tuple[bytes, dict[str, str]]] = {
    "/slack/events": (b"command=%2Fops&text=help&user_id=U0ALICE&channel_id=C0GENERAL", {}),
    "/webhooks/buildkite": (b'{"event": "ping"}', {"X-Buildkite-Event": "ping"}),
}


def red_run() -> bytes:
    """A real GitHub `workflow_run` delivery (the octokit example, turned red)."""
    payload = workflow_run(conclusion="failure", sha="a" * 40, run_id=4242, created=utcnow())
    return json.dumps(payload).encode()


def post_routes(app: Any) -> list[str]:
    paths = sorted({path for path, route in mounted_routes(app.routes) if "POST" in route.methods})
    assert "/slack/events" in paths and "/agents/push" in paths, paths
    return paths


def cap_of(app: Any, path: str) -> int:
    return caps_of(app.routes).get(path, DEFAULT_MAX_BODY)


def with_signatures(path: str, body: bytes, stamp: int | None = None) -> list[dict[str, str]]:
    """The ways to send `body` to `path`: unsigned, and signed as its sender would."""
    signer = SIGNERS.get(path)
    variants: list[dict[str, str]] = [{}]
    if signer is not None:
        variants.append(signer(body, int(time.time()) if stamp is None else stamp))
    return variants


def assert_refused(response: httpx.Response, what: str, status: int | None = None) -> None:
    """A 4xx (or exactly `status`) whose JSON body says what was wrong."""
    assert 400 <= response.status_code < 500, (what, response.status_code, response.text[:300])
    if status is not None:
        assert response.status_code == status, (what, response.status_code, response.text[:300])
    assert response.headers["content-type"].startswith("application/json"), what
    assert response.json().get("error"), (what, response.text[:300])


@asynccontextmanager
async def door(db_url: str) -> AsyncIterator[BotUnderTest]:
    """The real app with every webhook configured and no workers: nothing writes but requests."""
    async with running_bot(db_url, start_workers=False, **CONFIG) as bot:
        yield bot


class Counted:
    """A request body that records how much of it the server pulled."""

    def __init__(self, total: int, chunk: int = 64 * 1024) -> None:
        self.total = total
        self.chunk = chunk
        self.pulled = 0

    async def __aiter__(self) -> AsyncIterator[bytes]:
        while self.pulled < self.total:
            size = min(self.chunk, self.total - self.pulled)
            self.pulled += size
            yield b" " * size


async def test_declared_oversize_is_refused_before_the_body_is_read(db_url: str) -> None:
    async with door(db_url) as bot:
        before = await row_counts(bot.rt.sessions)
        for path in post_routes(bot.rt.web):
            cap = cap_of(bot.rt.web, path)
            for declared in (cap + 1, 20 * 1024 * 1024 + cap):
                body = Counted(declared)
                for headers in with_signatures(path, b""):
                    headers = {**headers, "Content-Length": str(declared)}
                    response = await bot.http.post(path, content=body, headers=headers)
                    assert_refused(response, f"{path} declares {declared}", 413)
                assert body.pulled == 0, f"{path} read {body.pulled} bytes of a refused body"
        assert await row_counts(bot.rt.sessions) == before


async def test_streamed_oversize_is_cut_off_at_the_cap(db_url: str) -> None:
    """Chunked, or with a Content-Length that lies: counted while streaming, stopped at the cap."""
    async with door(db_url) as bot:
        before = await row_counts(bot.rt.sessions)
        for path in post_routes(bot.rt.web):
            cap = cap_of(bot.rt.web, path)
            for lie in (None, "10"):
                body = Counted(cap + 10 * 64 * 1024)
                headers = {} if lie is None else {"Content-Length": lie}
                response = await bot.http.post(path, content=body, headers=headers)
                assert_refused(response, f"{path} streams past its cap (length {lie})", 413)
                assert body.pulled <= cap + body.chunk, (path, body.pulled, cap)
        assert await row_counts(bot.rt.sessions) == before


# The documented refusals of the depth limit (raw body; Slack's form `payload=` field).
TOO_DEEP = f"JSON nested deeper than {MAX_JSON_DEPTH} levels"
TOO_DEEP_IN_PAYLOAD = f"JSON in the payload field nested deeper than {MAX_JSON_DEPTH} levels"


def deep_bodies(depth: int) -> dict[str, tuple[bytes, str]]:
    """Bodies whose JSON is nested exactly `depth` deep, each with the reason a refusal gives."""
    arrays = b"[" * depth + b"]" * depth
    inner = b"[" * (depth - 1) + b"]" * (depth - 1)
    objects = b'{"a":' * depth + b"1" + b"}" * depth
    inside = b'{"type": "block_actions", "x": ' + inner + b"}"
    form = urlencode({"payload": inside.decode()}).encode()
    return {
        "arrays": (arrays, TOO_DEEP),
        # More openers than the limit, none deeper than `depth`: the count alone decides nothing.
        "wide arrays": (b"[" + inner + b"," + inner + b"]", TOO_DEEP),
        "objects": (objects, TOO_DEEP),
        "nested in an event": (inside, TOO_DEEP),
        "form payload": (form, TOO_DEEP_IN_PAYLOAD),
        "form payload, lower-case escapes": (form.lower(), TOO_DEEP_IN_PAYLOAD),
    }


def test_deep_bodies_are_as_deep_as_they_say() -> None:
    for depth in (MAX_JSON_DEPTH, MAX_JSON_DEPTH + 1):
        for name, (body, _reason) in deep_bodies(depth).items():
            if body.startswith(b"payload="):
                body = dict(parse_qsl(body.decode()))["payload"].encode()
            assert nesting(json.loads(body)) == depth, (name, depth)


async def deep_responses(bot: BotUnderTest, depth: int) -> AsyncIterator[tuple[str, str, Any]]:
    """Every body of `depth` to every route, unsigned and signed, as JSON and as a form."""
    for path in post_routes(bot.rt.web):
        for name, (body, reason) in deep_bodies(depth).items():
            for headers in with_signatures(path, body):
                for content_type in ("application/json", "application/x-www-form-urlencoded"):
                    headers = {**headers, "Content-Type": content_type}
                    response = await bot.http.post(path, content=body, headers=headers)
                    signed = "signed" if len(headers) > 1 else "unsigned"
                    yield f"{path} {name} {content_type} {signed}", reason, response


async def test_deep_json_is_refused_everywhere(db_url: str) -> None:
    """One level past the limit, and far past it: 400 with the limit's reason, whatever the
    route and before its signature is looked at."""
    async with door(db_url) as bot:
        before = await row_counts(bot.rt.sessions)
        for depth in (MAX_JSON_DEPTH + 1, 1000):
            async for what, reason, response in deep_responses(bot, depth):
                assert_refused(response, f"{what} depth {depth}", 400)
                assert response.json()["error"] == reason, (what, depth, response.text[:300])
        assert await row_counts(bot.rt.sessions) == before


async def test_depth_at_the_limit_is_not_what_refuses(db_url: str) -> None:
    """The limit refuses the abusive, not the merely nested: MAX_JSON_DEPTH itself gets through
    the front door and the routes' own parsing (a route may still refuse it for other reasons)."""
    async with door(db_url) as bot:
        async for what, _reason, response in deep_responses(bot, MAX_JSON_DEPTH):
            assert response.status_code < 500, (what, response.text[:300])
            assert "nested" not in response.text, (what, response.text[:300])


def encoded(body: bytes) -> dict[str, bytes]:
    return {
        "gzip": gzip.compress(body),
        "deflate": zlib.compress(body),
        "br": body,  # what the header claims is what matters
        "gzip, identity": gzip.compress(body),
        "x-custom": body,
    }


async def test_compressed_bodies_get_415(db_url: str) -> None:
    async with door(db_url) as bot:
        before = await row_counts(bot.rt.sessions)
        plain = red_run()
        for path in post_routes(bot.rt.web):
            for coding, body in encoded(plain).items():
                for headers in with_signatures(path, body):
                    headers = {**headers, "Content-Encoding": coding}
                    response = await bot.http.post(path, content=body, headers=headers)
                    assert_refused(response, f"{path} {coding}", 415)
        assert await row_counts(bot.rt.sessions) == before


async def test_stale_and_future_timestamps_are_refused(db_url: str) -> None:
    async with door(db_url) as bot:
        before = await row_counts(bot.rt.sessions)
        routes = post_routes(bot.rt.web)
        for path, (body, extra) in TIMED.items():
            assert path in routes
            now = int(time.time())
            fresh = await bot.http.post(path, content=body,
                                        headers={**SIGNERS[path](body, now), **extra})  # fmt: skip
            assert fresh.status_code < 400, (path, fresh.text)  # the body itself is fine
            # Five minutes is the tolerance; 10 s beyond it leaves room for a slow machine
            # between signing and checking (a +301 signed a second early reads as +300).
            for offset in (-310, 310, -86_400, None):
                now = int(time.time())
                stamp = 0 if offset is None else now + offset
                headers = {**SIGNERS[path](body, stamp), **extra}
                response = await bot.http.post(path, content=body, headers=headers)
                assert_refused(response, f"{path} timestamp {stamp - now:+}", 401)
        assert await row_counts(bot.rt.sessions) == before


# A push for a task the bot never started: well formed, so only its token can refuse it.
UNKNOWN_TASK = {"taskId": "task-nobody-started", "status": {"state": "TASK_STATE_WORKING"}}
AGENT_PUSH = json.dumps({"statusUpdate": UNKNOWN_TASK}).encode()
# Every POST route: a body it would read if it came from its sender, and how it refuses a
# request it cannot verify (status, start of the reason). A new route must be added here.
UNVERIFIED: dict[str, tuple[bytes, int, str]] = {
    "/slack/events": (TIMED["/slack/events"][0], 401, "invalid signature: "),
    "/webhooks/github": (red_run(), 401, "invalid signature: "),
    "/webhooks/gitlab": (red_run(), 401, "invalid signature: "),
    "/webhooks/buildkite": (red_run(), 401, "invalid signature: "),
    "/agents/push": (AGENT_PUSH, 401, "bad push token"),
}


def forgeries(body: bytes) -> dict[str, dict[str, str]]:
    now = int(time.time())
    return {
        "unsigned": {},
        "forged": {
            "X-Slack-Signature": "v0=" + "0" * 64,
            "X-Slack-Request-Timestamp": str(now),
            "X-Hub-Signature-256": "sha256=" + hmac_sha256_hex("guess", body),
            "X-GitHub-Event": "workflow_run",
            "X-Gitlab-Token": "guess",
            "X-Gitlab-Event": "Pipeline Hook",
            "X-Buildkite-Signature": f"timestamp={now},signature={'0' * 64}",
            "X-Buildkite-Event": "build.finished",
            "X-A2A-Notification-Token": "guess",
        },
        "signed with another secret": {
            **signed_headers("guess", now, body),
            **github_headers("guess", body),
            "X-Buildkite-Token": "guess",
            "Authorization": "Bearer guess",
        },
    }


async def test_bad_signatures_are_refused(db_url: str) -> None:
    async with door(db_url) as bot:
        before = await row_counts(bot.rt.sessions)
        assert sorted(UNVERIFIED) == post_routes(bot.rt.web)
        for path, (body, status, reason) in UNVERIFIED.items():
            for name, headers in forgeries(body).items():
                response = await bot.http.post(path, content=body, headers=headers)
                assert_refused(response, f"{path} {name}", status)
                assert response.json()["error"].startswith(reason), (path, name, response.text)
        assert await row_counts(bot.rt.sessions) == before


async def test_empty_bodies_are_refused(db_url: str) -> None:
    async with door(db_url) as bot:
        before = await row_counts(bot.rt.sessions)
        for path in post_routes(bot.rt.web):
            for headers in with_signatures(path, b""):
                response = await bot.http.post(path, content=b"", headers=headers)
                assert_refused(response, f"{path} empty, signed={bool(headers)}")
        assert await row_counts(bot.rt.sessions) == before


async def test_a_signed_10_mb_event_is_refused_and_not_stored(db_url: str) -> None:
    async with door(db_url) as bot:
        bot.rt.events.on("message", _ignore)
        before = await row_counts(bot.rt.sessions)
        event = {"type": "event_callback", "event_id": "Ev0BIG", "team_id": "T0SANDBOX",
                 "event": {"type": "message", "channel": seed.GENERAL, "user": seed.BOB,
                           "text": "x" * (10 * 1024 * 1024), "ts": "1.2"}}  # fmt: skip
        body = json.dumps(event).encode()
        headers = {**signed_headers(SIGNING_SECRET, int(time.time()), body),
                   "Content-Type": "application/json"}  # fmt: skip
        response = await bot.http.post("/slack/events", content=body, headers=headers)
        assert_refused(response, "signed 10 MB event", 413)
        assert await row_counts(bot.rt.sessions) == before


async def _ignore(_event: dict[str, Any], _body: dict[str, Any]) -> None:
    return None


NOISE = st.one_of(
    st.binary(max_size=300),
    st.text(max_size=200).map(str.encode),
    st.recursive(
        st.none() | st.booleans() | st.integers() | st.text(max_size=8),
        lambda inner: st.lists(inner, max_size=3)
        | st.dictionaries(st.text(max_size=6), inner, max_size=3),
        max_leaves=10,
    ).map(lambda value: json.dumps(value).encode()),
    st.dictionaries(st.sampled_from(["payload", "command", "text", "type", "event"]),
                    st.text(max_size=30), max_size=3).map(lambda d: urlencode(d).encode()),
)  # fmt: skip


async def test_random_bytes_never_get_a_5xx(db_url: str) -> None:
    async with door(db_url) as bot:
        before = await row_counts(bot.rt.sessions)
        routes = post_routes(bot.rt.web)
        for body in examples(NOISE, 60):
            for path in routes:
                for headers in with_signatures(path, body):
                    response = await bot.http.post(path, content=body, headers=headers)
                    what = f"{path} {body[:80]!r} signed={bool(headers)}"
                    assert response.status_code < 500, (what, response.text[:300])
                    if response.status_code >= 400:
                        assert_refused(response, what)
        assert await row_counts(bot.rt.sessions) == before


# -- Slack without a signing secret ----------------------------------------------------


@asynccontextmanager
async def unsigned_bot(db_url: str) -> AsyncIterator[tuple[Any, httpx.AsyncClient]]:
    """The app as `opsbot socket` builds it without SLACK_SIGNING_SECRET."""
    async with Sandbox() as sandbox:
        config = Settings(slack_bot_token=BOT_TOKEN, slack_api_url=sandbox.url,
                          database_url=db_url, slack_app_token="xapp-1-A0OPSBOT-test",
                          **CONFIG)  # fmt: skip
        assert not config.slack_signing_secret
        rt = build_runtime(config, FAST)
        assert rt.web is not None
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=rt.web),
                                     base_url="http://bot") as http:  # fmt: skip
            try:
                yield rt, http
            finally:
                await rt.stop()


async def test_without_a_signing_secret_slack_events_are_not_served(db_url: str) -> None:
    async with unsigned_bot(db_url) as (rt, http):
        before = await row_counts(rt.sessions)
        declare = urlencode({"command": "/incident", "text": "declare sev1 db down",
                             "user_id": seed.ALICE, "channel_id": seed.GENERAL,
                             "team_id": "T0SANDBOX", "trigger_id": "1.2.3"}).encode()  # fmt: skip
        mention = {"type": "app_mention", "text": "hi", "ts": "1.2", "channel": seed.GENERAL,
                   "user": seed.ALICE}  # fmt: skip
        event = json.dumps({"type": "event_callback", "event_id": "Ev1", "team_id": "T0SANDBOX",
                            "event": mention}).encode()  # fmt: skip
        for body in (declare, event):
            # Signed with an empty key, with a guess, and not at all: none reaches Bolt.
            for headers in ({}, signed_headers("", int(time.time()), body),
                            signed_headers(SIGNING_SECRET, int(time.time()), body)):  # fmt: skip
                response = await http.post("/slack/events", content=body, headers=headers)
                assert response.status_code == 503, response.text
                assert "SLACK_SIGNING_SECRET is not set" in response.json()["error"]
        assert await row_counts(rt.sessions) == before

        delivery = red_run()
        headers = github_headers(GITHUB_SECRET, delivery)
        accepted = await http.post("/webhooks/github", content=delivery, headers=headers)
        assert accepted.status_code == 202, accepted.text
        assert accepted.json().get("accepted") is True


# -- the depth scan itself -------------------------------------------------------------


JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(alphabet='[]{}"\\ab\n', max_size=6),
    lambda inner: (
        st.lists(inner, max_size=3)
        | st.dictionaries(st.text(alphabet='[]{}"\\k', max_size=4), inner, max_size=3)
    ),
    max_leaves=30,
)


def nesting(value: Any) -> int:
    if isinstance(value, list):
        return 1 + max((nesting(item) for item in value), default=0)
    if isinstance(value, dict):
        return 1 + max((nesting(item) for item in value.values()), default=0)
    return 0


@given(JSON_VALUES)
def test_depth_scan_matches_the_real_nesting(value: Any) -> None:
    from bot.core.frontdoor import json_depth

    assert json_depth(json.dumps(value).encode()) == nesting(value)


HOSTILE: dict[str, tuple[Callable[[int], bytes], bool]] = {
    "escaped quotes": (lambda n: b'"' + b'\\"' * n, False),  # one string, never closed
    "dangling escapes": (lambda n: b'"\\' * n, False),  # inside the string throughout
    "openers": (lambda n: b"[" * n, True),
    "unterminated strings": (lambda n: b'["' * n, True),  # every other opener is outside
}


def fastest(call: Callable[[], object], repeat: int = 5) -> float:
    best = float("inf")
    for _ in range(repeat):
        started = time.perf_counter()
        call()
        best = min(best, time.perf_counter() - started)
    return best


@pytest.mark.parametrize("name", sorted(HOSTILE))
def test_depth_scan_stays_linear_on_hostile_input(name: str) -> None:
    """The answer is right, and 8 times the input costs about 8 times the time, not 64: a
    ratio, measured on this machine, with three times the room linear needs."""
    from bot.core.frontdoor import too_deep

    make, deep = HOSTILE[name]
    small, large = make(50_000), make(400_000)
    assert too_deep(small) is deep and too_deep(large) is deep
    ratio = fastest(lambda: too_deep(large)) / max(fastest(lambda: too_deep(small)), 1e-4)
    assert ratio < 24, (name, ratio)


@given(JSON_VALUES, st.integers(MAX_JSON_DEPTH - 3, MAX_JSON_DEPTH + 3), st.booleans(),
       st.sampled_from(["raw", "form", "form, lower-case escapes"]))  # fmt: skip
def test_the_depth_check_refuses_exactly_past_the_limit(
    value: Any, depth: int, objects: bool, how: str
) -> None:
    """Any JSON, wrapped to land around the limit: refused with the documented reason exactly
    when it is nested deeper than MAX_JSON_DEPTH."""
    from bot.core.frontdoor import depth_problem

    for _ in range(max(0, depth - nesting(value))):
        value = {"k": value} if objects else [value]
    real = nesting(value)
    body = json.dumps(value).encode()
    reason = TOO_DEEP
    if how != "raw":
        body = urlencode({"type": "x", "payload": body.decode()}).encode()
        body = body.lower() if "lower" in how else body
        reason = TOO_DEEP_IN_PAYLOAD
    assert depth_problem(body) == (reason if real > MAX_JSON_DEPTH else None), (real, how)


@given(st.one_of(st.binary(max_size=400), NOISE, st.text(max_size=200).map(
    lambda text: text.encode("utf-8", "surrogatepass"))))  # fmt: skip
def test_the_depth_check_reads_any_bytes(body: bytes) -> None:
    """Whatever follows a prefix nested past the limit, the prefix is refused, in a raw body and
    in a form's payload field; and no bytes make the check raise."""
    from bot.core.frontdoor import depth_problem

    depth_problem(body)
    depth_problem(b"payload=" + body)
    assert depth_problem(b"[" * (MAX_JSON_DEPTH + 1) + body) == TOO_DEEP
    in_payload = depth_problem(b"payload=" + b"%5B" * (MAX_JSON_DEPTH + 1) + body)
    # The raw body is checked first: noise that is itself too deep is refused as such.
    assert in_payload == (TOO_DEEP if depth_problem(body) == TOO_DEEP else TOO_DEEP_IN_PAYLOAD)


async def test_a_path_without_a_declared_cap_gets_the_small_default(db_url: str) -> None:
    async with door(db_url) as bot:
        body = Counted(DEFAULT_MAX_BODY + 1)
        response = await bot.http.post("/no/such/route", content=body,
                                       headers={"Content-Length": str(body.total)})  # fmt: skip
        assert_refused(response, "undeclared path", 413)
        assert body.pulled == 0


async def test_a_database_failure_is_a_503_that_names_nothing_on_every_route(
    db_url: str, tmp_path: Any
) -> None:
    """A route that cannot store what it received answers 503 (the sender delivers again),
    whoever wrote the route: never a 500, and never the error's text."""
    from bot.core.db import make_engine, make_sessionmaker, utcnow
    from bot.sandbox.ci_samples import github_headers, workflow_run

    secret = "front-door-github"
    routes = [{"repo": "octo-org/octo-repo", "branches": ["main"], "channel": "C0GENERAL"}]
    async with running_bot(
        db_url, start_workers=False, github_webhook_secret=secret, ci={"routes": routes}
    ) as bot:
        broken = make_engine(f"sqlite:///{tmp_path}/missing-dir/opsbot.db")
        bot.rt.sessions = make_sessionmaker(broken)
        payload = workflow_run(conclusion="failure", sha="a" * 40, run_id=1, created=utcnow())
        body = json.dumps(payload).encode()
        response = await bot.http.post(
            "/webhooks/github", content=body, headers=github_headers(secret, body)
        )
        await broken.dispose()
    assert response.status_code == 503
    assert response.json() == {"ok": False, "error": "the database is unavailable; deliver again"}
