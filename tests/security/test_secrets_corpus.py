"""A corpus of secret kinds: each true positive is redacted, each near miss survives unchanged.

Secrets are generated from a seeded random source (shape-correct, never real) so no literal
credential sits in the repository for scanners to flag. Adding a kind is one line in CORPUS.
"""

from __future__ import annotations

import random
import re
import string

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.core.redaction import PLACEHOLDER, redact_payload, redact_text, redact_text_counted

UPPER, LOWER, DIGITS = string.ascii_uppercase, string.ascii_lowercase, string.digits
ALNUM = UPPER + LOWER + DIGITS
HEX = "0123456789abcdef"
B64 = ALNUM + "+/"
URLSAFE = ALNUM + "_-"
_random = random.Random(20240611)


def fake(alphabet: str, size: int) -> str:
    """Random characters; a fresh draw each call, stable across runs."""
    return "".join(_random.choice(alphabet) for _ in range(size))


def mixed(size: int) -> str:
    """Random base64-ish text that surely has both cases and a digit (as real keys do)."""
    return fake(UPPER, 2) + fake(LOWER, 2) + fake(DIGITS, 2) + fake(ALNUM, size - 6)


def pem(label: str) -> str:
    body = "\n".join(fake(B64, 64) for _ in range(3))
    return f"-----BEGIN {label}-----\n{body}\n-----END {label}-----"


def jwt() -> str:
    header = "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9"
    return header + ".eyJ" + fake(URLSAFE, 40) + "." + fake(URLSAFE, 43)


AWS_ID = "AKIA" + fake(UPPER + "234567", 16)
AWS_SECRET = mixed(40).replace("a", "/", 1)
GIT_SHA = "9fceb02d0ae598e95dc970b74767f19372d61af8"
UUID = "123e4567-e89b-12d3-a456-426614174000"

# (name, text with the secret, the secret, expected kind, near miss that must survive)
CORPUS: list[tuple[str, str, str, str, str]] = []


def kind(name: str, context: str, secret: str, expected: str, near_miss: str) -> None:
    CORPUS.append((name, context.format(s=secret), secret, expected, near_miss))


# fmt: off
kind("slack bot token", "bot token {s} leaked", "xoxb-" + fake(DIGITS, 12) + "-" + fake(DIGITS, 13) + "-" + fake(ALNUM, 24), "slack_token", "xoxb- tokens start like that")  # noqa: E501
kind("slack user token", "SLACK_USER_TOKEN={s}", "xoxp-" + fake(DIGITS, 12) + "-" + fake(DIGITS, 12) + "-" + fake(DIGITS, 13) + "-" + fake(HEX, 32), "slack_token", "user U0123ABCD in C0456DEFG")  # noqa: E501
kind("slack app token", "app-level {s}", "xapp-1-A" + fake(UPPER + DIGITS, 10) + "-" + fake(DIGITS, 13) + "-" + fake(HEX, 64), "slack_token", "xapp tokens open Socket Mode")  # noqa: E501
kind("slack webhook", "curl -X POST {s} -d @payload.json", "https://hooks.slack.com/services/T" + fake(UPPER + DIGITS, 8) + "/B" + fake(UPPER + DIGITS, 8) + "/" + fake(ALNUM, 24), "slack_webhook", "hooks.slack.com is Slack's webhook host")  # noqa: E501
kind("github pat", "GH_TOKEN={s}", "ghp_" + fake(ALNUM, 36), "github_token", "branch ghp_short is stale")  # noqa: E501
kind("github fine-grained pat", "token {s}", "github_pat_" + fake(ALNUM, 22) + "_" + fake(ALNUM, 59), "github_token", "github_pat_ is the fine-grained prefix")  # noqa: E501
kind("github app token", "https://x-access-token:{s}@github.com/o/r.git", "ghs_" + fake(ALNUM, 36), "github_token", "https://github.com/org/repo/pull/42?tab=files#diff")  # noqa: E501
kind("aws access key id", "key id {s} in us-east-1", AWS_ID, "aws_access_key_id", "AKIA1234 is too short for a key id")  # noqa: E501
kind("aws secret key, assigned", "aws_secret_access_key = {s}", AWS_SECRET, "aws_secret_access_key", "aws_secret_access_key = <your key here>")  # noqa: E501
kind("aws secret key, bare after key id", AWS_ID + ",{s}", mixed(40), "aws_secret_access_key", "our aws key rotation landed in " + GIT_SHA)  # noqa: E501
kind("aws secret key, STS output", '"SecretAccessKey": "{s}",', mixed(40), "aws_secret_access_key", '"SecretAccessKey": "",')  # noqa: E501
kind("stripe secret key", "STRIPE_KEY: {s}", "sk_" + "live_" + fake(ALNUM, 24), "stripe_access_token", "set sk_live_ keys in the vault")  # noqa: E501
kind("stripe restricted key", "using {s} for reports", "rk_" + "test_" + fake(ALNUM, 24), "stripe_access_token", "rk_test is the restricted prefix")  # noqa: E501
kind("openai project key", "OPENAI_API_KEY={s}", "sk-proj-" + fake(URLSAFE, 58) + "T3Blbk" + "FJ" + fake(URLSAFE, 58), "openai_api_key", "we use sk-learn for the model")  # noqa: E501
kind("openai legacy key", "key {s} expired", "sk-" + fake(ALNUM, 20) + "T3Blbk" + "FJ" + fake(ALNUM, 20), "openai_api_key", "sk-" + fake(ALNUM, 20) + " is not a full key")  # noqa: E501
kind("anthropic api key", "ANTHROPIC_API_KEY={s}", "sk-ant-" + "api03-" + fake(URLSAFE, 93) + "AA", "anthropic_api_key", "sk-ant-api03-short is truncated")  # noqa: E501
kind("anthropic admin key", "admin {s}", "sk-ant-" + "admin01-" + fake(URLSAFE, 93) + "AA", "anthropic_admin_api_key", "sk-ant-admin keys manage the org")  # noqa: E501
kind("jwt", "session {s} expired", jwt(), "jwt", "eyes on the dashboard, everyone")  # noqa: E501
kind("gcp api key", "maps key {s}", "AIza" + fake(URLSAFE, 35), "gcp_api_key", "AIza is the Google API key prefix")  # noqa: E501
kind("gitlab pat", "GITLAB_TOKEN {s}", "glpat-" + fake(URLSAFE, 20), "gitlab_pat", "glpat-short is not a token")  # noqa: E501
kind("gitlab pipeline trigger", "trigger {s}", "glptt-" + fake(HEX, 40), "gitlab_ptt", "commit " + GIT_SHA + " fixed it")  # noqa: E501
kind("npm token", "//registry.npmjs.org/:_authToken={s}", "npm_" + fake(LOWER + DIGITS, 36), "npm_access_token", "npm_config_cache=/tmp/npm")  # noqa: E501
kind("sendgrid", "SENDGRID={s}", "SG." + fake(URLSAFE, 22) + "." + fake(URLSAFE, 43), "sendgrid_api_token", "SG.version 2 is out")  # noqa: E501
kind("digitalocean pat", "do token {s}", "dop_v1_" + fake(HEX, 64), "digitalocean_pat", "dop_v1_ is the prefix")  # noqa: E501
kind("shopify token", "shop {s}", "shpat_" + fake(HEX, 32), "shopify_access_token", "shpat_ tokens go in the vault")  # noqa: E501
kind("databricks token", "DATABRICKS_TOKEN: {s}", "dapi" + fake(HEX, 32), "databricks_api_token", "the dapi endpoint is slow")  # noqa: E501
kind("huggingface token", "HF {s}", "hf_" + fake(ALNUM[:52], 34), "huggingface_access_token", "hf_transfer speeds up downloads")  # noqa: E501
kind("pypi upload token", "password = {s}", "pypi-" + "AgEIcHlwaS5vcmc" + fake(URLSAFE, 60), "pypi_upload_token", "pypi-AgEI is the prefix")  # noqa: E501
kind("age secret key", "{s}", "AGE-SECRET-KEY-1" + fake("QPZRY9X8GF2TVDW0S3JN54KHCE6MUA7L", 58), "age_secret_key", "AGE-SECRET-KEY-1 starts an age identity")  # noqa: E501
kind("postman key", "postman {s}", "PMAK-" + fake(HEX, 24) + "-" + fake(HEX, 34), "postman_api_token", "PMAK keys live in the team vault")  # noqa: E501
kind("linear key", "LINEAR={s}", "lin_api_" + fake(ALNUM, 40), "linear_api_key", "lin_api_ keys are per user")  # noqa: E501
kind("heroku key", "HEROKU_API_KEY={s}", "HRKU-AA" + fake(URLSAFE, 58), "heroku_api_key_v2", "HRKU-AA starts a Heroku key")  # noqa: E501
kind("sentry user token", "sentry {s}", "sntryu_" + fake(HEX, 64), "sentry_user_token", "sntryu_ tokens act as a user")  # noqa: E501
kind("pulumi token", "PULUMI_ACCESS_TOKEN {s}", "pul-" + fake(HEX, 40), "pulumi_api_token", "pul-" + GIT_SHA[:20] + " is half a token")  # noqa: E501
kind("private key", "key:\n{s}\nend", pem("RSA PRIVATE KEY"), "private_key", "-----BEGIN PUBLIC KEY-----\nMIIBIjANBgkq\n-----END PUBLIC KEY-----")  # noqa: E501
kind("openssh private key", "{s}", pem("OPENSSH PRIVATE KEY"), "private_key", "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----")  # noqa: E501
kind("url password", "postgres://app:{s}@db.internal:5432/app", fake(ALNUM, 14), "url_password", "see https://example.com/path?x=1#top and ssh://git@github.com/o/r.git")  # noqa: E501
kind("authorization bearer", "Authorization: Bearer {s}", fake(ALNUM, 32), "bearer_token", "Bearer bonds are old; the bearer token is missing")  # noqa: E501
kind("authorization basic", "Authorization: Basic {s}", fake(B64, 24) + "==", "basic_auth", "basic auth is disabled")  # noqa: E501
kind("password assignment", "password={s}", fake(ALNUM, 14), "generic_secret", "please reset your password")  # noqa: E501
kind("quoted client secret", '{{"client_secret": "{s}"}}', mixed(24), "generic_secret", '{"client_secret": ""}')  # noqa: E501
kind("high-entropy cookie", "session_cookie={s}", mixed(32), "high_entropy", "session_cookie=chocolate-chip-and-oat")  # noqa: E501
kind("high-entropy signature", "x-hub-signature: {s}", mixed(40), "high_entropy", "request_id=" + UUID)  # noqa: E501
# fmt: on

IDS = [name for name, *_ in CORPUS]


def test_corpus_is_broad() -> None:
    assert len(set(IDS)) == len(IDS) >= 30
    assert len({expected for *_, expected, _ in CORPUS}) >= 30


@pytest.mark.parametrize(("name", "text", "secret", "expected", "near_miss"), CORPUS, ids=IDS)
def test_true_positive_is_redacted(
    name: str, text: str, secret: str, expected: str, near_miss: str
) -> None:
    out, counts = redact_text_counted(text)
    assert secret not in out
    assert f"[REDACTED:{expected}]" in out, out
    assert counts.get(expected, 0) >= 1


@pytest.mark.parametrize(("name", "text", "secret", "expected", "near_miss"), CORPUS, ids=IDS)
def test_near_miss_survives(
    name: str, text: str, secret: str, expected: str, near_miss: str
) -> None:
    assert redact_text_counted(near_miss) == (near_miss, {})


@pytest.mark.parametrize(
    "text",
    [
        "commit " + GIT_SHA + " and short sha 9fceb02",
        "request " + UUID + " failed",
        "user U0123ABC in C0456DEF, team T0789GHI, bot B0ABCDEF1, message 1712345678.123456",
        "the API key rotation job ran at 03:00; the auth service answered 401",
        "token: expired",
        "mail ops@example.com",
        "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17",
        "PWD=/home/runner/work/project",
    ],
)
def test_everyday_text_survives(text: str) -> None:
    assert redact_text_counted(text) == (text, {})


# ------------------------------------------------------------------ properties

_SECRETS = [secret for _, _, secret, _, _ in CORPUS]
_NEAR_MISSES = [near for *_, near in CORPUS]
_pieces = st.one_of(
    st.text(max_size=40),
    st.sampled_from(_SECRETS),
    st.sampled_from(_NEAR_MISSES),
    st.sampled_from(["password=", "Authorization: Bearer ", "://u:", "@", "[REDACTED:", "]"]),
    st.sampled_from([" ", "\n", "=", ":", '"', "'", ",", "_", "-"]),
)
_texts = st.lists(_pieces, max_size=8).map("".join)


@given(_texts)
def test_redaction_is_idempotent(text: str) -> None:
    once = redact_text(text)
    assert redact_text_counted(once) == (once, {})


_NESTED = re.compile(r"\[REDACTED:[A-Za-z0-9_]*\[REDACTED:")


@given(_texts)
def test_no_placeholder_grows_inside_a_placeholder(text: str) -> None:
    out, counts = redact_text_counted(text)
    # Every replacement is one whole new placeholder; none lands in or next to an old one's
    # name, and what the input already had is left as it was.
    assert len(PLACEHOLDER.findall(out)) == len(PLACEHOLDER.findall(text)) + sum(counts.values())
    if "[REDACTED:" not in text:
        # (Text that itself types an unfinished "[REDACTED:" before a secret reads nested, which
        # is harmless: the secret is still gone.)
        assert not _NESTED.findall(out)


@given(st.sampled_from(CORPUS), st.text(max_size=30), st.text(max_size=30))
def test_secret_between_words_never_survives(
    case: tuple[str, str, str, str, str], before: str, after: str
) -> None:
    _, text, secret, _, _ = case
    assert secret not in redact_text(before + " " + text + "\n" + after)


def test_redact_payload_keeps_structure_and_structural_fields() -> None:
    token = CORPUS[0][2]
    event = {
        "token": "verification-field-kept",
        "team_id": "T0123",
        "event_id": "Ev0123",
        "event": {
            "type": "message",
            "ts": "1712345678.123456",
            "text": f"deploy with {token}",
            "blocks": [{"type": "rich_text", "elements": [{"type": "text", "text": token}]}],
            "edited": None,
            "reply_count": 3,
        },
        "response_url": "https://hooks.slack.com/actions/T0/1/abc",
    }
    out = redact_payload(event)
    assert out is not event and token not in repr(out)
    assert out["token"] == "verification-field-kept"
    assert out["response_url"] == event["response_url"]
    assert out["event"]["ts"] == "1712345678.123456" and out["event"]["reply_count"] == 3
    assert out["event"]["text"] == "deploy with [REDACTED:slack_token]"
    assert out["event"]["blocks"][0]["elements"][0]["text"] == "[REDACTED:slack_token]"
    assert event["event"]["text"] == f"deploy with {token}"  # the input is not changed
    assert redact_payload({"token": token}, keep=()) == {"token": "[REDACTED:slack_token]"}


def test_redact_payload_finds_a_secret_that_follows_a_rejected_match() -> None:
    # Scanned together, "public_key" at the end of one string and "=cookie=..." at the start
    # of the next read as one (public, so rejected) assignment that hides the cookie.
    payload = {"a": "public_key", "b": "=cookie=" + mixed(19)}
    assert redact_payload(payload) == {"a": "public_key", "b": redact_text(payload["b"])}
    assert redact_payload(payload)["b"] != payload["b"]


# Strings that end the way a key starts an assignment and start the way a value goes on, so
# that strings scanned together meet at their edges ("public_key" + "=cookie=..." reads as one
# rejected assignment that would hide the cookie).
_ENDS = st.sampled_from(["", "public_key", "token", "session_id", "curl https://x.example"])
_STARTS = st.sampled_from(
    [
        "",
        "=cookie=" + mixed(19),
        "=" + mixed(24),
        ": '" + mixed(16) + "'",
        " -u 'admin:" + mixed(12) + "'",
    ]
)
_payload_strings = st.lists(
    st.tuples(_STARTS, st.one_of(st.just(""), _texts), _ENDS).map("".join), max_size=6
)


@settings(max_examples=200)  # an edge pair is drawn in about one example in thirty
@given(_payload_strings)
def test_redact_payload_redacts_each_string_as_redact_text_does(texts: list[str]) -> None:
    assert redact_payload(texts) == [redact_text(text) for text in texts]
    assert redact_payload({str(i): text for i, text in enumerate(texts)}, keep=()) == {
        str(i): redact_text(text) for i, text in enumerate(texts)
    }


@pytest.mark.parametrize(("name", "text", "secret", "expected", "near_miss"), CORPUS, ids=IDS)
def test_redact_payload_finds_every_kind_among_other_strings(
    name: str, text: str, secret: str, expected: str, near_miss: str
) -> None:
    texts = [near_miss, text, near_miss, secret, "public_key", text + " key"]
    assert redact_payload(texts) == [redact_text(one) for one in texts]
