"""Make untrusted text (from users, CI logs, agents) safe to post into Slack.

Two separate concerns live here:

* neutralising Slack markup so text cannot forge links, mentions or broadcasts
  (``escape_mrkdwn``, ``strip_broadcasts``, ``inert``);
* scrubbing credentials that leak into logs and agent output (``redact_secrets``).
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass

from bot.core.text import ELLIPSIS as TEXT_ELLIPSIS
from bot.core.text import Untrusted, mrkdwn, neutralise

ELLIPSIS = TEXT_ELLIPSIS


def escape_mrkdwn(text: str) -> str:
    """Apply Slack's mandatory escaping so ``<...>`` control sequences stay literal.

    Not idempotent: escaping already-escaped text double-escapes (``&lt;`` -> ``&amp;lt;``),
    which is what keeps user-typed entities visible verbatim. Call it once, on raw text.
    """
    # "&" must go first, otherwise the entities produced below would be escaped again.
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def strip_broadcasts(text: str) -> str:
    """Remove ``<!channel>``-style tokens and invisible characters; defuse bare ``@channel``."""
    return neutralise(text)


def inert(text: str, limit: int | None = None) -> str:
    """Raw text of unknown origin as mrkdwn that renders literally and mentions nobody.

    The strictest renderer (as for CI and agent text); ``limit`` caps the returned length,
    ellipsis included, without cutting an entity. Prefer ``bot.core.text`` with a source.
    """
    return mrkdwn(Untrusted(text, "ci"), limit)


# --------------------------------------------------------------------------- secrets


@dataclass(frozen=True, slots=True)
class _Rule:
    kind: str
    pattern: re.Pattern[str]


def _rule(kind: str, pattern: str, flags: int = 0) -> _Rule:
    return _Rule(kind, re.compile(pattern, flags))


# Never re-redact a placeholder inserted by an earlier rule (it would be double counted).
_NOT_DONE = r"(?!\[REDACTED:)"
_GENERIC_KEYS = (
    r"(?<![A-Za-z0-9])(?i:password|passwd|passphrase|secret|secret_key|token|"
    r"api[_-]?key|access[_-]?key|private[_-]?key|credentials?)"
)
# Key, optional (possibly backslash-escaped) closing quote, then ":" or "=".
_GENERIC_SEP = r"[\\\"']*\s*[:=]\s*\\?"

# Order matters: specific kinds run first so the placeholder names the most useful kind,
# and the catch-all assignment rules only see what is left. When a rule has a group named
# "secret", only that group is replaced so the surrounding key/scheme stays readable.
_RULES: tuple[_Rule, ...] = (
    _rule(
        "private_key",
        # A truncated block (no END line, e.g. a cut-off log) is redacted to the end of text.
        r"-----BEGIN (?:[A-Z0-9]+ )*PRIVATE KEY(?: BLOCK)?-----"
        r"(?:.*?-----END (?:[A-Z0-9]+ )*PRIVATE KEY(?: BLOCK)?-----|.*)",
        re.DOTALL,
    ),
    _rule(
        "slack_webhook",
        r"https?://hooks\.slack\.com/(?:services|workflows|triggers)/[A-Za-z0-9_/\-]+",
    ),
    _rule("slack_token", r"\b(?:xoxe\.)?(?:xox[abcdeprs]|xapp)-[A-Za-z0-9\-]{10,}"),
    _rule("github_token", r"\b(?:gh[pousr]_[A-Za-z0-9]{36,}|github_pat_[A-Za-z0-9_]{22,})"),
    _rule("aws_access_key_id", r"\b(?:AKIA|ASIA)[A-Z0-9]{16}\b"),
    _rule(
        "aws_secret_access_key",
        r"(?i:aws_?secret_?(?:access_?)?key)[\\\"']*\s*[:=]\s*[\\\"']*"
        r"(?P<secret>[A-Za-z0-9/+=]{40})(?![A-Za-z0-9/+=])",
    ),
    _rule(
        "url_password",
        # Bounded repeats keep matching linear on long unbroken lines (base64 blobs in logs).
        r"\b[A-Za-z][A-Za-z0-9+.\-]{0,30}://[^\s:/@]{0,256}:"
        + _NOT_DONE
        + r"(?P<secret>[^\s/?#]{1,256})@",
    ),
    _rule(
        "bearer_token",
        r"(?i:authorization)[\\\"']*\s*[:=]\s*[\\\"']*(?i:bearer|token)\s+"
        + _NOT_DONE
        + r"(?P<secret>[^\s\"'\\,;]+)",
    ),
    _rule(
        "basic_auth",
        r"(?i:authorization)[\\\"']*\s*[:=]\s*[\\\"']*(?i:basic)\s+"
        + _NOT_DONE
        + r"(?P<secret>[A-Za-z0-9+/=]+)",
    ),
    # Without the header name, demand a token-sized value so prose like "Bearer bonds" survives.
    _rule("bearer_token", r"\b(?:Bearer|BEARER)\s+(?P<secret>[A-Za-z0-9\-._~+/]{16,}=*)"),
    _rule(
        "generic_secret",
        _GENERIC_KEYS
        + _GENERIC_SEP
        + r"(?P<q>[\"'])"
        + _NOT_DONE
        + r"(?P<secret>(?:(?!(?P=q))[^\n\\]){8,})(?P=q)",
    ),
    _rule(
        "generic_secret",
        _GENERIC_KEYS + _GENERIC_SEP + r"(?![\"'\[])(?P<secret>[^\s\"'`,;&<>\\]{8,})",
    ),
)


def _placeholder(kind: str) -> str:
    return f"[REDACTED:{kind}]"


def _apply_rule(rule: _Rule, text: str, counts: Counter[str]) -> str:
    def replace(match: re.Match[str]) -> str:
        counts[rule.kind] += 1
        if "secret" not in match.re.groupindex:
            return _placeholder(rule.kind)
        whole, base = match.group(0), match.start()
        start, end = match.start("secret") - base, match.end("secret") - base
        return whole[:start] + _placeholder(rule.kind) + whole[end:]

    return rule.pattern.sub(replace, text)


def redact_secrets_counted(text: str) -> tuple[str, dict[str, int]]:
    """Redact credentials and report how many of each kind were replaced."""
    counts: Counter[str] = Counter()
    for rule in _RULES:
        text = _apply_rule(rule, text, counts)
    return text, dict(counts)


def redact_secrets(text: str) -> str:
    """Replace credentials in ``text`` with ``[REDACTED:<kind>]`` placeholders."""
    return redact_secrets_counted(text)[0]
