"""The front door: what every HTTP request must satisfy before any route reads it.

One ASGI middleware, in front of every route:

- a body cap per route, checked against `Content-Length` before reading and counted again while
  the body streams in, so a chunked or lying request is cut off at the cap;
- no `Content-Encoding` but `identity` (nothing here inflates bodies, and an inflated body would
  escape the cap);
- JSON nested at most `MAX_JSON_DEPTH` deep, in the raw body and in a form's `payload=` field
  (Slack's interactivity), checked by a bracket scan that is linear and never recurses.

Every refusal is a 4xx with a JSON reason. Routes still parse with `loads_json`, which applies
the same depth limit, so a route is safe even where the middleware is not mounted.
"""

from __future__ import annotations

import json
import operator
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from itertools import accumulate, count
from typing import Any

from starlette.routing import BaseRoute, Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send

MAX_JSON_DEPTH = 64
KB = 1024
MB = 1024 * KB
# A route that does not declare its cap gets this: enough for any small JSON call.
DEFAULT_MAX_BODY = 64 * KB
# The key of a route's `openapi_extra` that carries its body cap (see `body_cap`).
CAP_KEY = "x-max-body-bytes"

_NOT_STRUCTURAL = bytes(b for b in range(256) if b not in b'[]{}"')
# An opener steps by 2 and a closer by 0; minus one per bracket this is +1 / -1 (see json_depth).
_STEPS = bytes.maketrans(b"[{]}", b"\x02\x02\x00\x00")
# The escapes a form gives the characters the depth scan reads (matched after `upper()`).
_FORM_ESCAPES = tuple((f"%{ord(c):02X}".encode(), c.encode()) for c in '[]{}"\\')
_ACCEPTED_ENCODINGS = frozenset({"", "identity"})


class BadRequest(Exception):
    """A request the app refuses with a 4xx; `reason` is short and safe to show the caller."""

    def __init__(self, status: int, reason: str) -> None:
        super().__init__(reason)
        self.status = status
        self.reason = reason


# -- JSON --------------------------------------------------------------------------------


def json_depth(data: bytes) -> int:
    """The deepest bracket nesting outside strings, without parsing (linear, in C-speed steps).

    On valid JSON this is the exact nesting depth; on invalid JSON it bounds how deep a parser
    gets before it stops at the first error.
    """
    if b"\\" in data:
        # Drop escaped backslashes, then escaped quotes (left to right, as JSON reads a run of
        # backslashes), so that every quote left delimits a string.
        data = data.replace(b"\\\\", b"").replace(b'\\"', b"")
    skeleton = data.translate(None, _NOT_STRUCTURAL)
    # Adjacent quotes are a string with no bracket in it, or a closing quote and the next
    # opening one with no bracket between: dropping them keeps every other quote's role.
    skeleton = skeleton.replace(b'""', b"")
    if b'"' in skeleton:
        skeleton = b"".join(skeleton.split(b'"')[::2])  # what is outside strings
    if not skeleton:
        return 0
    # Depth after the i-th bracket = (sum of steps so far) - i, steps being 2 or 0.
    depths: Iterator[int] = map(operator.sub, accumulate(skeleton.translate(_STEPS)), count(1))
    return max(0, max(depths))


def too_deep(data: bytes, limit: int = MAX_JSON_DEPTH) -> bool:
    # Fewer openers than the limit cannot nest deeper than it: most bodies stop here.
    if data.count(b"[") + data.count(b"{") <= limit:
        return False
    return json_depth(data) > limit


def loads_json(data: bytes | str, limit: int = MAX_JSON_DEPTH) -> Any:
    """`json.loads` that refuses deep nesting and bad encoding with `BadRequest(400)`."""
    raw = data.encode("utf-8", "surrogatepass") if isinstance(data, str) else data
    if too_deep(raw, limit):
        raise BadRequest(400, f"JSON nested deeper than {limit} levels")
    try:
        return json.loads(raw)
    except UnicodeDecodeError:
        raise BadRequest(400, "body is not UTF-8") from None
    except ValueError as error:
        raise BadRequest(400, f"malformed JSON: {str(error)[:120]}") from None


def loads_object(data: bytes | str, limit: int = MAX_JSON_DEPTH) -> dict[str, Any]:
    payload = loads_json(data, limit)
    if not isinstance(payload, dict):
        raise BadRequest(400, "malformed JSON: the payload must be an object")
    return payload


def form_payloads(body: bytes) -> list[bytes]:
    """The `payload=` fields of a form body (Slack sends interactivity so), for the depth scan.

    Only the escapes of the characters the scan looks at are decoded: full url-decoding costs a
    Python step per escape, and a JSON payload is mostly escapes. `%25` stays as it is, so an
    encoded percent sign never turns into a bracket.
    """
    if b"payload=" not in body:
        return []
    payloads = []
    for field in body.split(b"&"):
        if field.startswith(b"payload="):
            # Upper case costs one pass and halves the escapes to replace; letters do not matter.
            value = field[len(b"payload=") :].upper()
            for escape, character in _FORM_ESCAPES:
                value = value.replace(escape, character)
            payloads.append(value)
    return payloads


def depth_problem(body: bytes, limit: int = MAX_JSON_DEPTH) -> str | None:
    """Why `body` (raw JSON, or a form with JSON in `payload=`) is too deep, or None."""
    if too_deep(body, limit):
        return f"JSON nested deeper than {limit} levels"
    if any(too_deep(payload, limit) for payload in form_payloads(body)):
        return f"JSON in the payload field nested deeper than {limit} levels"
    return None


# -- body caps ---------------------------------------------------------------------------


def body_cap(limit: int) -> dict[str, Any]:
    """`openapi_extra` for a route whose bodies may be up to `limit` bytes."""
    return {CAP_KEY: limit}


def mounted_routes(routes: Iterable[BaseRoute], prefix: str = "") -> Iterator[tuple[str, Route]]:
    """(full path, route) for every route, including those of included routers.

    Recent FastAPI keeps an included router as one node (with `original_router`) instead of
    copying its routes into the app, so walk into those.
    """
    for route in routes:
        included = getattr(route, "original_router", None)
        if included is not None:
            inner = prefix + str(getattr(getattr(route, "include_context", None), "prefix", ""))
            yield from mounted_routes(included.routes, inner)
        elif isinstance(route, Route):
            yield prefix + route.path, route


def caps_of(routes: Iterable[BaseRoute]) -> dict[str, int]:
    """Path -> declared body cap, for every route that declares one."""
    caps: dict[str, int] = {}
    for path, route in mounted_routes(routes):
        extra = getattr(route, "openapi_extra", None) or {}
        if CAP_KEY in extra:
            caps[path] = int(extra[CAP_KEY])
    return caps


# -- middleware --------------------------------------------------------------------------


@dataclass(frozen=True)
class Refusal:
    status: int
    reason: str
    # True when the body was left unread: the connection cannot carry another request.
    unread: bool = False


def header_problem(headers: Iterable[tuple[bytes, bytes]], cap: int) -> Refusal | None:
    """What the headers alone show to be wrong: encoding, a malformed or too large length."""
    for name, value in headers:
        if name == b"content-encoding":
            codings = {part.strip().lower() for part in value.decode("latin-1").split(",")}
            if not codings <= _ACCEPTED_ENCODINGS:
                coding = value.decode("latin-1")[:40]
                return Refusal(415, f"Content-Encoding {coding!r} is not supported; send identity")
        elif name == b"content-length":
            if not value.strip().isdigit():
                return Refusal(400, "malformed Content-Length", unread=True)
            if int(value) > cap:
                return Refusal(413, f"body over {cap} bytes for this route", unread=True)
    return None


class Disconnected:
    """The client went away before the body was complete."""


class FrontDoor:
    """Pure ASGI, so a refused body is never read past its cap and no task is spawned."""

    def __init__(
        self,
        app: ASGIApp,
        caps: Mapping[str, int],
        default_cap: int = DEFAULT_MAX_BODY,
        max_depth: int = MAX_JSON_DEPTH,
    ) -> None:
        self.app = app
        self.caps = dict(caps)
        self.default_cap = default_cap
        self.max_depth = max_depth

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        cap = self.caps.get(scope["path"], self.default_cap)
        refusal = header_problem(scope["headers"], cap)
        if refusal is not None:
            await refuse(send, refusal)
            return
        body = await read_capped(receive, cap)
        if body is None:
            await refuse(send, Refusal(413, f"body over {cap} bytes for this route", unread=True))
            return
        if isinstance(body, Disconnected):
            return  # the client left; there is no one to answer
        reason = depth_problem(body, self.max_depth)
        if reason is not None:
            await refuse(send, Refusal(400, reason))
            return
        await self.app(scope, replay(body, receive), send)


async def read_capped(receive: Receive, cap: int) -> bytes | Disconnected | None:
    """The whole body, or None as soon as more than `cap` bytes have arrived."""
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            return Disconnected()
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > cap:
            return None
        chunks.append(chunk)
        if not message.get("more_body", False):
            return b"".join(chunks)


def replay(body: bytes, receive: Receive) -> Receive:
    """A `receive` that hands the app the body already read, then the client's later messages."""
    pending = [body]

    async def receive_again() -> Message:
        if pending:
            return {"type": "http.request", "body": pending.pop(), "more_body": False}
        return await receive()

    return receive_again


def error_body(reason: str) -> bytes:
    return json.dumps({"ok": False, "error": reason}).encode()


async def refuse(send: Send, refusal: Refusal) -> None:
    content = error_body(refusal.reason)
    headers = [
        (b"content-type", b"application/json"),
        (b"content-length", str(len(content)).encode()),
    ]
    if refusal.unread:
        headers.append((b"connection", b"close"))
    await send({"type": "http.response.start", "status": refusal.status, "headers": headers})
    await send({"type": "http.response.body", "body": content})
