from __future__ import annotations

import re
import time
from pathlib import Path

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from bot.core.security import inert, redact_secrets, redact_secrets_counted
from bot.core.text import ELLIPSIS, from_ci, link, mrkdwn, neutralise, safe_url

# A visible full-width "@" defuses bare keywords; zero-width characters are removed everywhere.
FULLWIDTH_AT = "\uff20"

# ------------------------------------------------------------------ escaping
# The renderers in bot.core.text escape; text from CI mentions nobody and broadcasts nothing.


def _escaped(text: str) -> str:
    return mrkdwn(from_ci(text))


@pytest.mark.parametrize(
    ("raw", "escaped"),
    [
        ("<http://evil|click>", "&lt;http://evil|click&gt;"),
        ("<@U123>", "@U123"),
        ("<!channel>", ""),
        ("<#C123|general>", "&lt;#C123|general&gt;"),
        ("a & b", "a &amp; b"),
        ("&lt;", "&amp;lt;"),
        ("plain text", "plain text"),
        ("", ""),
    ],
)
def test_mrkdwn_escapes(raw: str, escaped: str) -> None:
    assert _escaped(raw) == escaped


def test_rendering_twice_double_escapes() -> None:
    # Rendering is for raw text only; a second pass is visible.
    once = _escaped("<#C1> & co")
    assert _escaped(once) == "&amp;lt;#C1&amp;gt; &amp;amp; co"


@given(st.text())
def test_rendered_text_has_no_control_brackets(text: str) -> None:
    out = _escaped(text)
    assert "<" not in out and ">" not in out
    # Every "&" left must start one of the three entities.
    assert re.sub(r"&(?:amp|lt|gt);", "", out).count("&") == 0


@given(st.text())
def test_escaping_is_reversible(text: str) -> None:
    # What neutralising removes and mentions of people aside, escaping loses nothing.
    assume(neutralise(text) == text and "<@" not in text)
    out = _escaped(text)
    assert out.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&") == text


# ------------------------------------------------------------------ broadcasts


@pytest.mark.parametrize(
    "token",
    [
        "<!channel>",
        "<!here>",
        "<!everyone>",
        "<!CHANNEL>",
        "<!Here>",
        "<!here|here>",
        "<!channel|@channel>",
        "<!everyone|everyone>",
        "<!group>",
        "<!subteam^S123>",
        "<!subteam^S0123ABC|@oncall-team>",
        "<!SubTeam^S1|@x>",
    ],
)
def test_broadcast_tokens_are_removed(token: str) -> None:
    assert neutralise(f"hey {token} look") == "hey  look"


@pytest.mark.parametrize(
    "word", ["@channel", "@here", "@everyone", "@Channel", "@HERE", "@EveryOne"]
)
def test_bare_broadcast_words_are_defused(word: str) -> None:
    out = neutralise(f"ping {word}!")
    assert out == f"ping {FULLWIDTH_AT}{word[1:]}!"
    assert re.search(r"@(channel|here|everyone)\b", out, re.IGNORECASE) is None


@pytest.mark.parametrize("text", ["@channels", "@hereby", "@everyones", "<!date^1|x>", "<@U123>"])
def test_non_broadcasts_untouched(text: str) -> None:
    assert neutralise(text) == text


@pytest.mark.parametrize(
    "text",
    ["<!<!here>channel>", "<!chan<!here>nel>", "@<!here>channel", "<<!here>!here>"],
)
def test_removal_cannot_splice_a_new_broadcast(text: str) -> None:
    out = neutralise(text)
    assert re.search(r"<!(channel|here|everyone)", out, re.IGNORECASE) is None
    assert re.search(r"@(channel|here|everyone)\b", out, re.IGNORECASE) is None


@given(st.text())
def test_neutralise_is_idempotent(text: str) -> None:
    once = neutralise(text)
    assert neutralise(once) == once


# An unclosed "<!channel" is inert text; only a complete token notifies.
_CLOSED_BROADCAST = re.compile(
    r"<!(?:channel|here|everyone|group)(?:\|[^<>]*)?>|<!subteam\^[^<>]*>", re.IGNORECASE
)
_BROADCAST_BITS = st.sampled_from(
    ["<!", "<", ">", "!", "channel", "here", "everyone", "@", "|", "subteam^S1", "x", " "]
)


@given(st.lists(_BROADCAST_BITS, max_size=30).map("".join))
def test_neutralise_leaves_no_broadcast(text: str) -> None:
    out = neutralise(text)
    assert _CLOSED_BROADCAST.search(out) is None
    assert re.search(r"@(channel|here|everyone)\b", out, re.IGNORECASE) is None


# ------------------------------------------------------------------ inert


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("<http://evil|click>", "&lt;http://evil|click&gt;"),
        ("hi <@U123>", "hi @U123"),
        ("<!channel> deploy", " deploy"),
        ("@here deploy", f"{FULLWIDTH_AT}here deploy"),
        ("@\u200bhere \u202edeploy", f"{FULLWIDTH_AT}here deploy"),
        ("fish & chips", "fish &amp; chips"),
    ],
)
def test_inert(raw: str, expected: str) -> None:
    assert inert(raw) == expected


def test_inert_truncates_with_ellipsis() -> None:
    assert inert("abcdefghij", limit=5) == "abcd" + ELLIPSIS
    assert inert("abcde", limit=5) == "abcde"
    assert inert("abc", limit=1) == ELLIPSIS
    assert inert("abc", limit=0) == ""


@pytest.mark.parametrize("limit", range(1, 12))
def test_inert_never_cuts_an_entity(limit: int) -> None:
    out = inert("a&b<c>d&&e", limit=limit)
    assert len(out) <= limit
    body = out.removesuffix(ELLIPSIS)
    assert re.sub(r"&(?:amp|lt|gt);", "", body).count("&") == 0


def test_inert_rejects_negative_limit() -> None:
    with pytest.raises(ValueError):
        inert("abcdef", limit=-1)


@given(st.text(), st.one_of(st.none(), st.integers(min_value=0, max_value=50)))
def test_inert_properties(text: str, limit: int | None) -> None:
    out = inert(text, limit)
    assert "<" not in out and ">" not in out
    assert re.search(r"@(channel|here|everyone)\b", out, re.IGNORECASE) is None
    if limit is not None:
        assert len(out) <= limit
        assert re.sub(r"&(?:amp|lt|gt);", "", out).count("&") == 0


# ------------------------------------------------------------------ links
# `link` is the one place a view makes `<url|label>`: only a plain http(s) address becomes one.


@pytest.mark.parametrize(
    "url",
    [
        "https://github.com/acme/api/pull/12",
        "http://ci.example.com/run/7?attempt=2&x=y",
    ],
)
def test_link_links_a_plain_http_url(url: str) -> None:
    assert safe_url(url) == url
    assert link(url, "PR") == f"<{url}|PR>"


@pytest.mark.parametrize(
    "url",
    [
        None,
        "",
        "javascript:alert(1)",
        "JavaScript://example.com/%0aalert(1)",
        "data:text/html,hi",
        "ftp://example.com/file",
        "slack://open",
        "/relative/path",
        "example.com/pull/1",
        "https://",
        "https://example.com/a|<!channel>",
        "https://example.com/a>b",
        "https://example.com/>|pwned",
        "https://example.com/<@U123>",
        "https://example.com/a b",
        "https://example.com/\nnext line",
        "https://example.com/a\n",
        "https://example.com/a\t",
        'https://example.com/"quoted"',
        "https://example.com/`code`",
        "https://exa\u200bmple.com/",
        "https://example.com/\u202etxt.exe",
        " https://example.com/",
    ],
)
def test_link_never_links_an_unsafe_url(url: str | None) -> None:
    assert safe_url(url) is None
    assert link(url, "PR") == "PR"


def test_link_label_is_text_when_the_url_is_unsafe() -> None:
    shown = link("javascript:alert(1)", from_ci("<https://evil|click> <!channel>"))
    assert "<" not in shown and ">" not in shown
    assert shown == "&lt;https://evil|click&gt; "


def test_link_label_cannot_end_the_link() -> None:
    assert link("https://example.com/", "a>b<c") == "<https://example.com/|a&gt;b&lt;c>"
    # An inert label (entities already) is not escaped twice.
    assert link("https://example.com/", inert("a & <b>")) == (
        "<https://example.com/|a &amp; &lt;b&gt;>"
    )
    assert link("https://example.com/", from_ci("<!here> hi")) == "<https://example.com/| hi>"


@given(st.one_of(st.none(), st.text()), st.text())
def test_link_is_one_link_or_none(url: str | None, label: str) -> None:
    shown = link(url, from_ci(label))
    if safe_url(url) is None:
        assert "<" not in shown and ">" not in shown
    else:
        assert shown.startswith(f"<{url}|") and shown.endswith(">")
        assert shown.count("<") == 1 and shown.count(">") == 1
        assert url is not None and "|" not in url and url.startswith(("http://", "https://"))


# ------------------------------------------------------------------ redaction

# Fixtures are assembled at runtime so repository secret scanners don't flag them.
SLACK_BOT = "xoxb-" + "123456789012-1234567890123-" + "AbCdEfGhIjKlMnOpQrStUvWx"
SLACK_USER = (
    "xoxp-" + "123456789012-123456789012-1234567890123-" + "0123456789abcdef0123456789abcdef"
)
SLACK_APP = "xapp-" + "1-A0123456789-1234567890123-" + "abcdef0123456789"
SLACK_REFRESH = "xoxe." + "xoxp-1-" + "Mi0yLTEyMzQ1Njc4OTAxMi0xMjM0NTY3ODkwMTIz"
SLACK_HOOK = (
    "https://hooks.slack.com/services/" + "T00000000/B00000000/" + "XXXXXXXXXXXXXXXXXXXXXXXX"
)
GH_PAT = "ghp_" + "aB3dE5gH7jK9mN1pQ3sT5vW7yZ9bC1dE3fG5"
GH_APP = "ghs_" + "16C7e42F292c6912E7710c838347Ae178B4a"
GH_FINE = (
    "github_pat_"
    + "11ABCDEFG0123456789abc_"
    + "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFGHIJKLMNOPQRSTUVW"
)
AWS_ID = "AKIA" + "IOSFODNN7EXAMPLE"
AWS_STS_ID = "ASIA" + "ZZZZZZZZ12345678"
AWS_SECRET = "wJalrXUtnFEMI/K7MDENG/" + "bPxRfiCYEXAMPLEKEY"
JWT = (
    "eyJhbGciOiJIUzI1NiJ9."
    + "eyJzdWIiOiIxMjM0NTY3ODkwIn0."
    + "dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U"
)


def _pem(label: str) -> str:
    return (
        f"-----BEGIN {label}-----\n"
        "MIIEowIBAAKCAQEAu1SU1LfVLPHCozMxH2Mo4lgOEePzNm0tRgeLezV6ffAt0gun\n"
        "VTLw7onLRnrq0/IzW7yWR7QkrmBL7jTKEn5u+qKhbwKfBstIs+bMY2Zkp18gnTxK\n"
        f"-----END {label}-----"
    )


@pytest.mark.parametrize(
    ("text", "secret", "kind"),
    [
        (f"token is {SLACK_BOT} ok", SLACK_BOT, "slack_token"),
        (f"user token {SLACK_USER}", SLACK_USER, "slack_token"),
        (f"app {SLACK_APP}", SLACK_APP, "slack_token"),
        (f"refresh {SLACK_REFRESH}.", SLACK_REFRESH, "slack_token"),
        (f"curl -X POST {SLACK_HOOK} -d @x", SLACK_HOOK, "slack_webhook"),
        (f"GH_TOKEN={GH_PAT}", GH_PAT, "github_token"),
        (f"installation {GH_APP}", GH_APP, "github_token"),
        (f"fine grained {GH_FINE}", GH_FINE, "github_token"),
        (f"key id {AWS_ID} in us-east-1", AWS_ID, "aws_access_key_id"),
        (f"sts {AWS_STS_ID}", AWS_STS_ID, "aws_access_key_id"),
        (f"aws_secret_access_key = {AWS_SECRET}", AWS_SECRET, "aws_secret_access_key"),
        (f"export AWS_SECRET_ACCESS_KEY={AWS_SECRET}", AWS_SECRET, "aws_secret_access_key"),
        (f'{{"aws_secret_access_key": "{AWS_SECRET}"}}', AWS_SECRET, "aws_secret_access_key"),
        (f"Authorization: Bearer {JWT}", JWT, "bearer_token"),
        ("authorization: bearer short123", "short123", "bearer_token"),
        ('{"Authorization": "Bearer abc.def-ghi"}', "abc.def-ghi", "bearer_token"),
        (f"sent Bearer {JWT} upstream", JWT, "bearer_token"),
        ("Authorization: Basic dXNlcjpodW50ZXIy", "dXNlcjpodW50ZXIy", "basic_auth"),
        ("password=hunter2hunter2", "hunter2hunter2", "generic_secret"),
        ("DB_PASSWORD: 'correct horse battery'", "correct horse battery", "generic_secret"),
        ('{"client_secret": "s3cr3t-value-123"}', "s3cr3t-value-123", "generic_secret"),
        ("api_key=abcd1234efgh&x=1", "abcd1234efgh", "generic_secret"),
        ("--token=deadbeefcafe", "deadbeefcafe", "generic_secret"),
        ("secret: Sup3rS3cr3t!", "Sup3rS3cr3t!", "generic_secret"),
        ("postgres://app:pa55w0rd@db.internal:5432/app", "pa55w0rd", "url_password"),
        ("redis://:p%40ss@cache:6379/0", "p%40ss", "url_password"),
        ("https://user:p@ss@example.com/x", "p@ss", "url_password"),
    ],
)
def test_redacts_each_kind(text: str, secret: str, kind: str) -> None:
    out, counts = redact_secrets_counted(text)
    assert secret not in out
    assert f"[REDACTED:{kind}]" in out
    assert counts == {kind: 1}


@pytest.mark.parametrize(
    "label",
    [
        "PRIVATE KEY",
        "RSA PRIVATE KEY",
        "EC PRIVATE KEY",
        "OPENSSH PRIVATE KEY",
        "ENCRYPTED PRIVATE KEY",
        "DSA PRIVATE KEY",
        "PGP PRIVATE KEY BLOCK",
    ],
)
def test_redacts_whole_pem_block(label: str) -> None:
    text = f"before\n{_pem(label)}\nafter"
    out, counts = redact_secrets_counted(text)
    assert out == "before\n[REDACTED:private_key]\nafter"
    assert counts == {"private_key": 1}


def test_truncated_pem_block_is_redacted_to_end() -> None:
    text = "key:\n" + _pem("RSA PRIVATE KEY").rsplit("\n", 1)[0]
    assert redact_secrets(text) == "key:\n[REDACTED:private_key]"


def test_two_pem_blocks_counted_separately() -> None:
    text = _pem("RSA PRIVATE KEY") + "\nmiddle\n" + _pem("EC PRIVATE KEY")
    out, counts = redact_secrets_counted(text)
    assert "middle" in out
    assert counts == {"private_key": 2}


def test_public_key_and_certificate_left_alone() -> None:
    text = "-----BEGIN PUBLIC KEY-----\nMIIBIjANBgkq\n-----END PUBLIC KEY-----"
    assert redact_secrets(text) == text


def test_keeps_context_around_secrets() -> None:
    assert redact_secrets("Authorization: Bearer abc123") == (
        "Authorization: Bearer [REDACTED:bearer_token]"
    )
    assert redact_secrets("postgres://app:pw123@db/app") == (
        "postgres://app:[REDACTED:url_password]@db/app"
    )
    assert redact_secrets('password: "hunter2hunter2"') == 'password: "[REDACTED:generic_secret]"'


def test_counts_multiple_kinds() -> None:
    text = f"{SLACK_BOT} {SLACK_BOT} {GH_PAT} {AWS_ID} password=longenough1"
    out, counts = redact_secrets_counted(text)
    assert counts == {
        "slack_token": 2,
        "github_token": 1,
        "aws_access_key_id": 1,
        "generic_secret": 1,
    }
    assert out.count("[REDACTED:") == 5


def test_specific_kind_wins_over_generic() -> None:
    out, counts = redact_secrets_counted(f"SLACK_BOT_TOKEN={SLACK_BOT}")
    assert out == "SLACK_BOT_TOKEN=[REDACTED:slack_token]"
    assert counts == {"slack_token": 1}


def test_secret_inside_url_credentials_counted_once() -> None:
    out, counts = redact_secrets_counted(f"https://x-access-token:{GH_APP}@github.com/o/r.git")
    assert out == "https://x-access-token:[REDACTED:github_token]@github.com/o/r.git"
    assert counts == {"github_token": 1}


def test_redact_is_idempotent_on_examples() -> None:
    text = f"{SLACK_HOOK} {JWT} Authorization: Bearer {JWT} password='abcdefghij'"
    once = redact_secrets(text)
    assert redact_secrets_counted(once) == (once, {})


@pytest.mark.parametrize(
    "text",
    [
        "commit 9fceb02d0ae598e95dc970b74767f19372d61af8 fixed it",
        "short sha 9fceb02",
        "request 123e4567-e89b-12d3-a456-426614174000 failed",
        "user U0123ABC in C0456DEF, team T0789GHI, bot B0ABCDEF1",
        "see https://github.com/org/repo/pull/42?tab=files#diff",
        "http://localhost:8080/health",
        "ssh://git@github.com/org/repo.git",
        "git@github.com:org/repo.git",
        "mail ops@example.com",
        "please reset your password",
        "password:",
        "password = ",
        "token: expired",
        "the secret is out",
        "tokens: 12",
        "Bearer bonds are old",
        "the bearer token is missing",
        "AKIA is the prefix of AWS key ids",
        "xoxb- tokens start like that",
        "ghp_short",
        "hooks.slack.com is Slack's webhook host",
        "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17",
        "PWD=/home/runner/work/project",
        "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----",
        "",
    ],
)
def test_no_false_positives(text: str) -> None:
    assert redact_secrets_counted(text) == (text, {})


_KNOWN_SECRETS = [
    SLACK_BOT,
    SLACK_USER,
    SLACK_APP,
    SLACK_REFRESH,
    SLACK_HOOK,
    GH_PAT,
    GH_APP,
    GH_FINE,
    AWS_ID,
    AWS_STS_ID,
    _pem("RSA PRIVATE KEY"),
    _pem("OPENSSH PRIVATE KEY"),
]


@given(st.text())
def test_redact_never_raises(text: str) -> None:
    out, counts = redact_secrets_counted(text)
    assert isinstance(out, str)
    assert all(n > 0 for n in counts.values())


@given(
    st.text(max_size=200),
    st.sampled_from(_KNOWN_SECRETS),
    st.text(max_size=200),
    st.sampled_from([" ", "\n", "\t", " (", ": ", "='", '"']),
    st.sampled_from([" ", "\n", "\t", ") ", ".", "'", '",']),
)
def test_embedded_secret_never_survives(
    prefix: str, secret: str, suffix: str, left: str, right: str
) -> None:
    out = redact_secrets(prefix + left + secret + right + suffix)
    assert secret not in out


@given(st.sampled_from(_KNOWN_SECRETS), st.sampled_from(["password=", "Authorization: Bearer "]))
def test_secret_after_generic_key_still_redacted(secret: str, lead: str) -> None:
    assert secret not in redact_secrets(lead + secret)


def test_long_unbroken_line_is_fast() -> None:
    blob = "A" * 200_000 + "a:b" * 20_000
    start = time.perf_counter()
    redact_secrets(blob)
    assert time.perf_counter() - start < 2.0


# ------------------------------------------------------------------ the gitleaks rule set


def test_gitleaks_rules_load() -> None:
    from bot.core import redaction

    text = (redaction.resources.files("bot.core") / redaction.GITLEAKS_RULES).read_text()
    declared = text.count("\n[[rules]]\n")
    loaded, skipped = len(redaction.GITLEAKS.rules), redaction.GITLEAKS.skipped
    assert loaded + len(skipped) == declared
    # Only the rules tied to file paths are left out; every regex translates.
    assert loaded >= 210, skipped
    assert not [why for why in skipped.values() if "translate" in why]


@pytest.mark.parametrize(
    ("re2", "python"),
    [
        (r"\b(p8e-(?i)[a-z0-9]{32})", r"\b(p8e-(?i:[a-z0-9]{32}))"),
        (r"(a(?i)b|c)d", r"(a(?i:b)|(?i:c))d"),
        (r"x(?-i:acc)y\z", r"x(?-i:acc)y\Z"),
        (r"(?i)a|b", r"(?i:a)|(?i:b)"),
        (r"[[:alnum:]]{3}", r"[a-zA-Z0-9]{3}"),
        (r"[[a-z]]", r"[\[a-z]]"),
    ],
)
def test_translate_re2(re2: str, python: str) -> None:
    from bot.core.redaction import translate_re2

    assert translate_re2(re2) == python


@given(
    st.lists(
        st.sampled_from(
            ["api_key", "auth", " = ", ":", "=", "Token", "secret", "x" * 30, "a1B2c3D4e5F6g7H8"]
        )
        | st.text(alphabet="aZ9_.-= :'\"\n", max_size=12),
        max_size=12,
    ).map("".join)
)
def test_anchored_rules_find_what_a_full_scan_finds(text: str) -> None:
    from bot.core.redaction import GITLEAKS

    lowered = text.lower()
    for rule in GITLEAKS.rules:
        if rule.anchor is not None:
            fast = [m.span() for m in rule.finditer(text, lowered)]
            assert fast == [m.span() for m in rule.pattern.finditer(text)], rule.pattern.pattern


def test_links_are_built_by_core_text_only() -> None:
    """A `<url|label>` written by hand trusts its URL: every one goes through `text.link`,
    so a URL stored from a form, a webhook or an agent can never open markup of its own."""
    handmade = re.compile(r"<\{[^}]+\}\|")
    root = Path(__file__).resolve().parents[2] / "bot"
    found = [
        f"{path.relative_to(root)}:{number}"
        for path in sorted(root.rglob("*.py"))
        if path.parts[-2:] != ("core", "text.py") and "sandbox" not in path.parts
        for number, line in enumerate(path.read_text().splitlines(), 1)
        if handmade.search(line)
    ]
    assert found == [], f"links built by hand, not with bot.core.text.link: {found}"


def test_a_record_id_is_plain_digits_a_database_can_hold() -> None:
    from bot.core.access import record_id

    assert record_id("42") == 42 and record_id(42) == 42
    for forged in ("", "-1", "4 2", "٤٢", "1e3", "9" * 19, True, None, ["1"]):
        assert record_id(forged) is None, forged
