"""Slack request signing (v0 HMAC-SHA256), as Slack applies it to requests it sends."""

from __future__ import annotations

import hashlib
import hmac
import time

MAX_SKEW_SECONDS = 300


def _as_bytes(body: bytes | str) -> bytes:
    return body.encode() if isinstance(body, str) else body


def sign(secret: str, timestamp: int | str, body: bytes | str) -> str:
    base = b"v0:" + str(timestamp).encode() + b":" + _as_bytes(body)
    return "v0=" + hmac.new(secret.encode(), base, hashlib.sha256).hexdigest()


def verify(
    secret: str,
    timestamp: str | None,
    body: bytes | str,
    signature: str | None,
    now: float | None = None,
) -> bool:
    """What a receiving app must check: fresh timestamp and matching signature."""
    if not timestamp or not signature or not timestamp.isdigit():
        return False
    current = time.time() if now is None else now
    if abs(current - int(timestamp)) > MAX_SKEW_SECONDS:
        return False
    return hmac.compare_digest(sign(secret, timestamp, body), signature)


def signed_headers(secret: str, timestamp: int, body: bytes | str) -> dict[str, str]:
    return {
        "X-Slack-Request-Timestamp": str(timestamp),
        "X-Slack-Signature": sign(secret, timestamp, body),
    }
