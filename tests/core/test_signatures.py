from __future__ import annotations

import time

import pytest

from bot.core.signatures import (
    SignatureError,
    constant_time_equals,
    hmac_sha256_hex,
    slack_signature,
    verify_bearer_token,
    verify_buildkite,
    verify_github_signature,
    verify_gitlab_token,
    verify_slack_signature,
)

# Slack's published example request (api.slack.com/authentication/verifying-requests-from-slack).
SLACK_SECRET = "8f742231b10e8888abcd99yyyzzz85a5"
SLACK_TS = "1531420618"
SLACK_BODY = (
    b"token=xyzz0WbapA4vBCDEFasx0q6G&team_id=T1DC2JH3J&team_domain=testteamnow"
    b"&channel_id=G8PSS9T3V&channel_name=foobar&user_id=U2CERLKJA&user_name=roadrunner"
    b"&command=%2Fwebhook-collect&text=&response_url=https%3A%2F%2Fhooks.slack.com%2Fcommands"
    b"%2FT1DC2JH3J%2F397700885554%2F96rGlfmibIGlgcZRskXaIFfN"
    b"&trigger_id=398738663015.47445629121.803a0bc887a14d10d2c447fce8b6703c"
)
SLACK_SIG = "v0=a2114d57b48eac39b9ad189dd8316235a7b4a8d21a10bd27519666489c69b503"
SLACK_NOW = int(SLACK_TS) + 10

# GitHub's published example (docs: validating webhook deliveries).
GITHUB_SECRET = "It's a Secret to Everybody"
GITHUB_BODY = b"Hello, World!"
GITHUB_SIG = "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17"


def _flip(data: bytes, index: int) -> bytes:
    return data[:index] + bytes([data[index] ^ 0x01]) + data[index + 1 :]


def _reason(excinfo: pytest.ExceptionInfo[SignatureError]) -> str:
    return excinfo.value.reason


# ------------------------------------------------------------------ primitives


def test_hmac_accepts_str_and_bytes_secret() -> None:
    assert hmac_sha256_hex(GITHUB_SECRET, GITHUB_BODY) == GITHUB_SIG.removeprefix("sha256=")
    assert hmac_sha256_hex(GITHUB_SECRET.encode(), GITHUB_BODY) == GITHUB_SIG[7:]


@pytest.mark.parametrize(
    ("a", "b", "equal"),
    [
        ("abc", "abc", True),
        (b"abc", "abc", True),
        ("abc", b"abc", True),
        ("abc", "abd", False),
        ("abc", "abcd", False),
        ("", "", True),
        ("", "x", False),
        ("h\u00e9llo", "h\u00e9llo", True),
        ("h\u00e9llo", "hello", False),
    ],
)
def test_constant_time_equals(a: str | bytes, b: str | bytes, equal: bool) -> None:
    assert constant_time_equals(a, b) is equal


def test_signature_error_carries_reason() -> None:
    err = SignatureError("bad signature")
    assert err.reason == "bad signature"
    assert str(err) == "bad signature"


# ------------------------------------------------------------------ Slack


def test_slack_documented_vector_verifies() -> None:
    assert slack_signature(SLACK_SECRET, SLACK_TS, SLACK_BODY) == SLACK_SIG
    verify_slack_signature(SLACK_SECRET, SLACK_TS, SLACK_BODY, SLACK_SIG, now=SLACK_NOW)


def test_slack_signature_accepts_int_timestamp() -> None:
    assert slack_signature(SLACK_SECRET, int(SLACK_TS), SLACK_BODY) == SLACK_SIG


def test_slack_documented_vector_is_stale_today() -> None:
    with pytest.raises(SignatureError) as excinfo:
        verify_slack_signature(SLACK_SECRET, SLACK_TS, SLACK_BODY, SLACK_SIG)
    assert _reason(excinfo) == "stale timestamp"


@pytest.mark.parametrize("offset", [301, -301, 10_000])
def test_slack_rejects_past_and_future_timestamps(offset: int) -> None:
    now = int(SLACK_TS) + offset
    with pytest.raises(SignatureError, match="stale timestamp"):
        verify_slack_signature(SLACK_SECRET, SLACK_TS, SLACK_BODY, SLACK_SIG, now=now)


@pytest.mark.parametrize("offset", [300, -300, 0])
def test_slack_window_edges_are_inclusive(offset: int) -> None:
    now = int(SLACK_TS) + offset
    verify_slack_signature(SLACK_SECRET, SLACK_TS, SLACK_BODY, SLACK_SIG, now=now)


def test_slack_custom_window() -> None:
    with pytest.raises(SignatureError, match="stale"):
        verify_slack_signature(
            SLACK_SECRET, SLACK_TS, SLACK_BODY, SLACK_SIG, now=SLACK_NOW, window=5
        )


@pytest.mark.parametrize("index", [0, len(SLACK_BODY) // 2, len(SLACK_BODY) - 1])
def test_slack_flipped_body_byte_fails(index: int) -> None:
    body = _flip(SLACK_BODY, index)
    with pytest.raises(SignatureError) as excinfo:
        verify_slack_signature(SLACK_SECRET, SLACK_TS, body, SLACK_SIG, now=SLACK_NOW)
    assert _reason(excinfo) == "bad signature"


@pytest.mark.parametrize("index", [0, 3, len(SLACK_SIG) - 1])
def test_slack_flipped_signature_byte_fails(index: int) -> None:
    sig = _flip(SLACK_SIG.encode(), index).decode()
    with pytest.raises(SignatureError, match="bad signature"):
        verify_slack_signature(SLACK_SECRET, SLACK_TS, SLACK_BODY, sig, now=SLACK_NOW)


def test_slack_wrong_secret_fails() -> None:
    with pytest.raises(SignatureError, match="bad signature"):
        verify_slack_signature("other", SLACK_TS, SLACK_BODY, SLACK_SIG, now=SLACK_NOW)


def test_slack_timestamp_is_part_of_the_signature() -> None:
    ts = str(int(SLACK_TS) + 1)
    with pytest.raises(SignatureError, match="bad signature"):
        verify_slack_signature(SLACK_SECRET, ts, SLACK_BODY, SLACK_SIG, now=SLACK_NOW)


@pytest.mark.parametrize(("ts", "sig"), [(None, SLACK_SIG), (SLACK_TS, None), ("", SLACK_SIG)])
def test_slack_missing_headers(ts: str | None, sig: str | None) -> None:
    with pytest.raises(SignatureError, match="missing header"):
        verify_slack_signature(SLACK_SECRET, ts, SLACK_BODY, sig, now=SLACK_NOW)


@pytest.mark.parametrize("ts", ["abc", "1531420618.5", "-1531420618", "+1531420618", "1e9", "١٢٣"])
def test_slack_non_numeric_timestamp_rejected(ts: str) -> None:
    with pytest.raises(SignatureError, match="malformed timestamp"):
        verify_slack_signature(SLACK_SECRET, ts, SLACK_BODY, SLACK_SIG, now=SLACK_NOW)


def test_slack_empty_secret_never_verifies() -> None:
    sig = slack_signature("", SLACK_TS, SLACK_BODY)
    with pytest.raises(SignatureError, match="not configured"):
        verify_slack_signature("", SLACK_TS, SLACK_BODY, sig, now=SLACK_NOW)


def test_slack_round_trip_with_real_clock() -> None:
    ts = str(int(time.time()))
    sig = slack_signature("s3cret", ts, b"payload")
    verify_slack_signature("s3cret", ts, b"payload", sig)


# ------------------------------------------------------------------ GitHub


def test_github_documented_vector_verifies() -> None:
    verify_github_signature(GITHUB_SECRET, GITHUB_BODY, GITHUB_SIG)


def test_github_uppercase_hex_is_accepted() -> None:
    verify_github_signature(GITHUB_SECRET, GITHUB_BODY, "sha256=" + GITHUB_SIG[7:].upper())


def test_github_tampered_body_fails() -> None:
    with pytest.raises(SignatureError, match="bad signature"):
        verify_github_signature(GITHUB_SECRET, b"Hello, World?", GITHUB_SIG)


def test_github_wrong_secret_fails() -> None:
    with pytest.raises(SignatureError, match="bad signature"):
        verify_github_signature("nope", GITHUB_BODY, GITHUB_SIG)


@pytest.mark.parametrize(
    "header",
    ["757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17", "sha1=abc", "sha256="],
)
def test_github_malformed_header(header: str) -> None:
    with pytest.raises(SignatureError, match="malformed header"):
        verify_github_signature(GITHUB_SECRET, GITHUB_BODY, header)


@pytest.mark.parametrize("header", [None, "", "   "])
def test_github_missing_header(header: str | None) -> None:
    with pytest.raises(SignatureError, match="missing header"):
        verify_github_signature(GITHUB_SECRET, GITHUB_BODY, header)


def test_github_empty_secret_rejected() -> None:
    header = "sha256=" + hmac_sha256_hex("", GITHUB_BODY)
    with pytest.raises(SignatureError, match="not configured"):
        verify_github_signature("", GITHUB_BODY, header)


# ------------------------------------------------------------------ GitLab


def test_gitlab_token_right() -> None:
    verify_gitlab_token("glt-token-123", "glt-token-123")


@pytest.mark.parametrize("header", ["glt-token-124", "glt-token-12", "GLT-TOKEN-123"])
def test_gitlab_token_wrong(header: str) -> None:
    with pytest.raises(SignatureError, match="bad token"):
        verify_gitlab_token("glt-token-123", header)


@pytest.mark.parametrize("header", [None, ""])
def test_gitlab_token_missing(header: str | None) -> None:
    with pytest.raises(SignatureError, match="missing header"):
        verify_gitlab_token("glt-token-123", header)


def test_gitlab_empty_expected_rejected() -> None:
    with pytest.raises(SignatureError, match="not configured"):
        verify_gitlab_token("", "anything")


# ------------------------------------------------------------------ Buildkite

BK_SECRET = "bk-webhook-secret"
BK_BODY = b'{"event":"build.finished"}'
BK_TS = 1_700_000_000


def _bk_header(ts: int = BK_TS, body: bytes = BK_BODY, secret: str = BK_SECRET) -> str:
    return f"timestamp={ts},signature={hmac_sha256_hex(secret, f'{ts}.'.encode() + body)}"


def _bk(
    *,
    secret: str | None = BK_SECRET,
    signature_header: str | None = None,
    token: str | None = None,
    token_header: str | None = None,
    body: bytes = BK_BODY,
    now: float | None = BK_TS + 5,
) -> None:
    verify_buildkite(
        body,
        secret=secret,
        signature_header=signature_header,
        token=token,
        token_header=token_header,
        now=now,
    )


def test_buildkite_signature_mode_verifies() -> None:
    _bk(signature_header=_bk_header())


def test_buildkite_signature_tolerates_spaces_and_field_order() -> None:
    sig = _bk_header().split(",")[1]
    _bk(signature_header=f" {sig} , timestamp={BK_TS} ")


def test_buildkite_signature_tampered_body_fails() -> None:
    with pytest.raises(SignatureError, match="bad signature"):
        _bk(signature_header=_bk_header(), body=BK_BODY + b" ")


def test_buildkite_signature_wrong_secret_fails() -> None:
    with pytest.raises(SignatureError, match="bad signature"):
        _bk(signature_header=_bk_header(secret="other"))


def test_buildkite_signature_binds_timestamp() -> None:
    forged = _bk_header().replace(f"timestamp={BK_TS}", f"timestamp={BK_TS + 1}")
    with pytest.raises(SignatureError, match="bad signature"):
        _bk(signature_header=forged)


@pytest.mark.parametrize("now", [BK_TS + 301, BK_TS - 301])
def test_buildkite_stale_timestamp(now: int) -> None:
    with pytest.raises(SignatureError, match="stale timestamp"):
        _bk(signature_header=_bk_header(), now=now)


def test_buildkite_stale_with_real_clock() -> None:
    with pytest.raises(SignatureError, match="stale timestamp"):
        _bk(signature_header=_bk_header(), now=None)


@pytest.mark.parametrize(
    "header",
    [
        "garbage",
        "timestamp=1700000000",
        "signature=abcdef",
        "timestamp=,signature=abc",
        "timestamp=1700000000;signature=abc",
    ],
)
def test_buildkite_malformed_header(header: str) -> None:
    with pytest.raises(SignatureError, match="malformed header"):
        _bk(signature_header=header)


def test_buildkite_non_numeric_timestamp() -> None:
    with pytest.raises(SignatureError, match="malformed timestamp"):
        _bk(signature_header="timestamp=soon,signature=abc")


def test_buildkite_token_mode_verifies() -> None:
    _bk(secret=None, token="bk-token", token_header="bk-token")


def test_buildkite_token_mode_wrong_token() -> None:
    with pytest.raises(SignatureError, match="bad token"):
        _bk(secret=None, token="bk-token", token_header="bk-tokem")


def test_buildkite_signature_configured_but_only_token_sent() -> None:
    with pytest.raises(SignatureError, match="missing header"):
        _bk(token_header="bk-token")


def test_buildkite_token_configured_but_nothing_sent() -> None:
    with pytest.raises(SignatureError, match="missing header"):
        _bk(secret=None, token="bk-token")


def test_buildkite_both_configured_accepts_either() -> None:
    _bk(token="bk-token", signature_header=_bk_header())
    _bk(token="bk-token", token_header="bk-token")


def test_buildkite_nothing_configured_rejects() -> None:
    with pytest.raises(SignatureError, match="not configured"):
        _bk(secret=None, token=None, signature_header=_bk_header(), token_header="x")


# ------------------------------------------------------------------ bearer


@pytest.mark.parametrize(
    "header", ["Bearer a2a-token", "bearer a2a-token", "  BEARER   a2a-token "]
)
def test_bearer_header_forms(header: str) -> None:
    verify_bearer_token("a2a-token", header)


def test_bearer_raw_token_header() -> None:
    verify_bearer_token("a2a-token", "a2a-token")


@pytest.mark.parametrize("header", ["Bearer wrong", "Basic a2a-token", "Bearer", "a2a-token2"])
def test_bearer_wrong(header: str) -> None:
    with pytest.raises(SignatureError, match="bad token"):
        verify_bearer_token("a2a-token", header)


@pytest.mark.parametrize("header", [None, "", "  "])
def test_bearer_missing(header: str | None) -> None:
    with pytest.raises(SignatureError, match="missing header"):
        verify_bearer_token("a2a-token", header)


def test_bearer_empty_expected_rejected() -> None:
    with pytest.raises(SignatureError, match="not configured"):
        verify_bearer_token("", "Bearer ")
