"""Authenticity checks for every inbound HTTP entry point (Slack, GitHub, GitLab, Buildkite, A2A).

All comparisons of secret material go through ``constant_time_equals`` so response timing
does not reveal how much of a guessed signature or token was right. Every verifier raises
``SignatureError`` and returns ``None`` on success, so callers cannot forget to check a result.
A missing or empty configured secret is treated as a failure: an empty HMAC key would let
anyone compute valid signatures.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import time

_UNIX_TS = re.compile(r"[0-9]{1,12}")


class SignatureError(Exception):
    """A request failed authentication; ``reason`` is short and safe to log."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def _to_bytes(value: str | bytes) -> bytes:
    return value.encode("utf-8") if isinstance(value, str) else value


def hmac_sha256_hex(secret: str | bytes, message: bytes) -> str:
    return hmac.new(_to_bytes(secret), message, hashlib.sha256).hexdigest()


def constant_time_equals(a: str | bytes, b: str | bytes) -> bool:
    # compare_digest rejects non-ASCII str, so compare the UTF-8 bytes instead.
    return hmac.compare_digest(_to_bytes(a), _to_bytes(b))


def _require_secret(secret: str | None) -> str:
    if not secret:
        raise SignatureError("secret not configured")
    return secret


def _require_header(value: str | None) -> str:
    if value is None or not value.strip():
        raise SignatureError("missing header")
    return value.strip()


def _check_fresh(timestamp: str, now: float | None, window: int) -> None:
    # Only plain ASCII digits: int() would also accept "+1", " 1", "1_0" and non-Latin digits.
    if not _UNIX_TS.fullmatch(timestamp):
        raise SignatureError("malformed timestamp")
    current = time.time() if now is None else now
    # Future timestamps are rejected too, otherwise a captured request could be replayed
    # for as long as the forged-ahead clock allows.
    if abs(current - int(timestamp)) > window:
        raise SignatureError("stale timestamp")


def slack_signature(signing_secret: str, timestamp: str | int, body: bytes) -> str:
    message = b"v0:" + str(timestamp).encode("ascii") + b":" + body
    return "v0=" + hmac_sha256_hex(signing_secret, message)


def verify_slack_signature(
    signing_secret: str,
    timestamp: str | None,
    body: bytes,
    signature: str | None,
    now: float | None = None,
    window: int = 300,
) -> None:
    """Check ``X-Slack-Request-Timestamp`` / ``X-Slack-Signature`` for a request body."""
    secret = _require_secret(signing_secret)
    ts = _require_header(timestamp)
    provided = _require_header(signature)
    _check_fresh(ts, now, window)
    if not constant_time_equals(slack_signature(secret, ts, body), provided):
        raise SignatureError("bad signature")


def verify_github_signature(secret: str, body: bytes, header: str | None) -> None:
    """Check GitHub's ``X-Hub-Signature-256: sha256=<hex>``."""
    key = _require_secret(secret)
    value = _require_header(header)
    scheme, sep, digest = value.partition("=")
    if not sep or scheme.lower() != "sha256" or not digest:
        raise SignatureError("malformed header")
    if not constant_time_equals(hmac_sha256_hex(key, body), digest.lower()):
        raise SignatureError("bad signature")


def verify_gitlab_token(expected: str, header: str | None) -> None:
    """Check GitLab's ``X-Gitlab-Token`` shared secret."""
    _check_token(_require_secret(expected), _require_header(header))


def _check_token(expected: str, provided: str) -> None:
    if not constant_time_equals(expected, provided):
        raise SignatureError("bad token")


def _parse_buildkite_signature(header: str) -> tuple[str, str]:
    fields: dict[str, str] = {}
    for part in header.split(","):
        key, sep, value = part.partition("=")
        if not sep:
            raise SignatureError("malformed header")
        fields[key.strip().lower()] = value.strip()
    timestamp, signature = fields.get("timestamp"), fields.get("signature")
    if not timestamp or not signature:
        raise SignatureError("malformed header")
    return timestamp, signature


def _verify_buildkite_signature(
    body: bytes, secret: str, header: str, now: float | None, window: int
) -> None:
    timestamp, provided = _parse_buildkite_signature(header)
    _check_fresh(timestamp, now, window)
    expected = hmac_sha256_hex(secret, timestamp.encode("ascii") + b"." + body)
    if not constant_time_equals(expected, provided.lower()):
        raise SignatureError("bad signature")


def verify_buildkite(
    body: bytes,
    *,
    secret: str | None,
    signature_header: str | None,
    token: str | None,
    token_header: str | None,
    now: float | None = None,
    window: int = 300,
) -> None:
    """Check a Buildkite webhook in whichever mode is configured.

    Buildkite sends either ``X-Buildkite-Signature: timestamp=<unix>,signature=<hex>``
    (HMAC-SHA256 of ``"<timestamp>.<body>"``) or a plain ``X-Buildkite-Token``. The signature
    is preferred when both are configured and present because it also covers the body.
    """
    if secret and signature_header and signature_header.strip():
        _verify_buildkite_signature(body, secret, signature_header.strip(), now, window)
        return
    if token and token_header and token_header.strip():
        _check_token(token, token_header.strip())
        return
    if not secret and not token:
        raise SignatureError("secret not configured")
    raise SignatureError("missing header")


def verify_bearer_token(expected: str, header: str | None) -> None:
    """Accept ``Authorization: Bearer <token>`` or a header carrying the raw token."""
    key = _require_secret(expected)
    value = _require_header(header)
    parts = value.split(None, 1)
    if len(parts) == 2 and parts[0].lower() == "bearer":
        value = parts[1].strip()
    if not value:
        raise SignatureError("missing header")
    _check_token(key, value)
