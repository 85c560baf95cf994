"""One redaction pipeline for every string the bot stores or sends on.

Most rules come from gitleaks' maintained rule set, vendored as data in
``secret_rules/gitleaks.toml`` and loaded with ``tomllib`` when this module is imported. Its
regexes are written for Go's RE2, so a small translator turns the few constructs Python's ``re``
rejects into equivalents; a rule that still does not compile is skipped and counted.

A handful of local rules run around them, for shapes that matter in chat and that a repository
scanner does not aim at: private key blocks cut off mid-way, passwords in URLs, Authorization
headers, the bot's own Slack, GitHub and AWS credentials in any layout, secrets assigned to
secret-sounding keys, and high-entropy values next to such keys.

Every rule honours gitleaks' conventions: ``keywords`` is a cheap lower-cased substring
prefilter (most rules never run on a given message), only the secret group is replaced (so
``password=[REDACTED:generic_secret]`` stays readable), and an entropy threshold drops values
that look like words. Earlier rules win: the first rule to claim a span names its kind.
"""

from __future__ import annotations

import math
import re
import tomllib
import warnings
from bisect import bisect_left
from collections import Counter
from collections.abc import Callable, Collection, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from importlib import resources
from typing import Any

import ahocorasick

PLACEHOLDER = re.compile(r"\[REDACTED:[A-Za-z0-9_]+\]")
GITLEAKS_RULES = "secret_rules/gitleaks.toml"

# A replacement can make a neighbour match that did not before (a "\b" next to the new "]");
# running again until nothing changes makes redaction idempotent. Two passes are the norm.
_MAX_PASSES = 4

Span = tuple[int, int]
# What joins texts scanned together (see `Redactor.changes_any`): the newlines make it a line
# boundary, and the NUL between them stops every whitespace run, "." and [^\n] at it.
_SEAM = "\n\x00\n"


def placeholder(kind: str) -> str:
    return f"[REDACTED:{kind}]"


def shannon_entropy(value: str) -> float:
    """Bits per character, as gitleaks computes it."""
    if not value:
        return 0.0
    size = len(value)
    return -sum(n / size * math.log2(n / size) for n in Counter(value).values())


# ------------------------------------------------------------------ RE2 -> Python re

_INLINE_FLAGS = re.compile(r"\(\?([a-zA-Z]*(?:-[a-zA-Z]+)?)\)")
_POSIX_CLASSES = {
    "alnum": "a-zA-Z0-9",
    "alpha": "a-zA-Z",
    "digit": "0-9",
    "lower": "a-z",
    "upper": "A-Z",
    "xdigit": "0-9A-Fa-f",
    "space": r"\t\n\v\f\r ",
    "word": r"\w",
}


def translate_re2(pattern: str) -> str:
    """Rewrite an RE2 pattern so Python's ``re`` reads it the same way.

    * ``(?i)`` anywhere applies, in RE2, to the rest of the enclosing group, across ``|``;
      Python only takes it at the very start, so it becomes ``(?i:...)`` around each
      remaining alternative of that group.
    * ``\\z`` (end of text) is Python's ``\\Z``.
    * POSIX classes (``[[:alnum:]]``) are spelled out, and ``[``, ``&``, ``~``, ``|`` inside a
      class are escaped so Python does not read them as future set operations.
    """
    out: list[str] = []
    # Per open group: the scoped-flag openers that must be closed with that group.
    frames: list[list[str]] = [[]]
    i = 0
    while i < len(pattern):
        char = pattern[i]
        if char == "\\":
            escape = pattern[i : i + 2]
            out.append(r"\Z" if escape == r"\z" else escape)
            i += 2
        elif char == "[":
            cls, i = _char_class(pattern, i)
            out.append(cls)
        elif char == "(":
            flags = _INLINE_FLAGS.match(pattern, i)
            if flags:
                opener = f"(?{flags.group(1)}:"
                out.append(opener)
                frames[-1].append(opener)
                i = flags.end()
                continue
            frames.append([])
            out.append(char)
            i += 1
        elif char == "|":
            active = frames[-1]
            out.append(")" * len(active) + "|" + "".join(active))
            i += 1
        elif char == ")":
            if len(frames) == 1:
                raise re.error("unbalanced parenthesis", pattern, i)
            out.append(")" * len(frames.pop()) + ")")
            i += 1
        else:
            out.append(char)
            i += 1
    out.append(")" * len(frames[-1]))
    return "".join(out)


def _char_class(pattern: str, start: int) -> tuple[str, int]:
    out = ["["]
    i = start + 1
    if pattern.startswith("^", i):
        out.append("^")
        i += 1
    if pattern.startswith("]", i):  # a leading "]" is a literal in both dialects
        out.append(r"\]")
        i += 1
    while i < len(pattern) and pattern[i] != "]":
        if pattern[i] == "\\":
            out.append(pattern[i : i + 2])
            i += 2
        elif pattern.startswith("[:", i):
            end = pattern.index(":]", i)
            out.append(_POSIX_CLASSES[pattern[i + 2 : end]])
            i = end + 2
        elif pattern[i] in "[&~|":
            out.append("\\" + pattern[i])
            i += 1
        else:
            out.append(pattern[i])
            i += 1
    if i >= len(pattern):
        raise re.error("unterminated character set", pattern, start)
    return "".join(out) + "]", i + 1


def _group_end(pattern: str, start: int) -> int:
    """Index just past the ")" closing the group whose body starts at ``start``."""
    depth, i = 1, start
    while depth:
        char = pattern[i]
        if char == "\\":
            i += 2
            continue
        if char == "[":
            i = _char_class(pattern, i)[1]
            continue
        depth += {"(": 1, ")": -1}.get(char, 0)
        i += 1
    return i


def compile_re2(pattern: str) -> re.Pattern[str]:
    # RE2's \w, \d, \s and \b are ASCII-only.
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a FutureWarning means "Python reads this differently"
        return re.compile(translate_re2(pattern), re.ASCII)


# ------------------------------------------------------------------ rules


@dataclass(frozen=True, slots=True)
class Allowlist:
    """A gitleaks allowlist: a finding it matches is not a secret."""

    regexes: tuple[re.Pattern[str], ...] = ()
    stopwords: tuple[str, ...] = ()
    target: str = "secret"  # or "match", "line"
    require_all: bool = False

    def allows(self, secret: str, match: re.Match[str]) -> bool:
        subject = secret
        if self.target == "match":
            subject = match.group(0)
        elif self.target == "line":
            subject = _line_of(match)
        by_regex = any(regex.search(subject) for regex in self.regexes)
        lowered = secret.lower()
        by_word = any(word in lowered for word in self.stopwords)
        if not self.require_all:
            return by_regex or by_word
        checks = ([by_regex] if self.regexes else []) + ([by_word] if self.stopwords else [])
        return bool(checks) and all(checks)


def _line_of(match: re.Match[str]) -> str:
    text = match.string
    start = text.rfind("\n", 0, match.start()) + 1
    end = text.find("\n", match.end())
    return text[start : end if end != -1 else len(text)]


@dataclass(frozen=True, slots=True)
class Rule:
    kind: str
    pattern: re.Pattern[str]
    keywords: tuple[str, ...] = ()
    # A group number or name; None means gitleaks' default: the first non-empty group, or the
    # whole match when the pattern has no groups.
    secret_group: int | str | None = None
    entropy: float | None = None
    allowlists: tuple[Allowlist, ...] = ()
    check: Callable[[re.Match[str]], bool] | None = None
    # For assignment-shaped rules: finds every position where one of the key words starts.
    anchor: re.Pattern[str] | None = None
    # The pattern can only start where one of its keywords starts (local rules say so).
    keyword_led: bool = False

    def finditer(self, text: str, lowered: str) -> Iterator[re.Match[str]]:
        if self.anchor is not None:
            return _anchored_finditer(self.pattern, self.anchor, text)
        if self.keyword_led and len(lowered) == len(text):
            return _keyword_led_finditer(self.pattern, self.keywords, text, lowered)
        return self.pattern.finditer(text)

    def secret_span(self, match: re.Match[str]) -> Span | None:
        if self.secret_group is not None:
            span = match.span(self.secret_group)
            return span if span[0] >= 0 else None
        for index in range(1, (match.re.groups or 0) + 1):
            if match.group(index):
                return match.span(index)
        return match.span()

    def accepts(self, secret: str, match: re.Match[str]) -> bool:
        if self.entropy is not None and shannon_entropy(secret) <= self.entropy:
            return False
        if self.check is not None and not self.check(match):
            return False
        return not any(allow.allows(secret, match) for allow in self.allowlists)


# Most gitleaks rules for "<vendor> key = value" start with ``(?i)[\w.-]{0,50}?(?:word|...)``:
# up to 50 key characters, then a key word. Tried at every position of a text, that lazy prefix
# makes these rules the slowest by far, so they are only tried where a match can start.
_ASSIGNMENT_PREFIX = r"(?i)[\w.-]{0,50}?(?:"
_KEY_REACH = 50
_KEY_CHARS = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.-")


def _assignment_anchor(regex: str) -> re.Pattern[str] | None:
    if not regex.startswith(_ASSIGNMENT_PREFIX):
        return None
    words = regex[len(_ASSIGNMENT_PREFIX) : _group_end(regex, len(_ASSIGNMENT_PREFIX)) - 1]
    return compile_re2("(?i)(?=(?:" + words + "))")


def _anchored_finditer(
    pattern: re.Pattern[str], anchor: re.Pattern[str], text: str
) -> Iterator[re.Match[str]]:
    """The matches ``pattern.finditer(text)`` would give, trying only the starts that can win.

    A match that uses the key word at ``p`` starts in the run of key characters ending at
    ``p``, at most 50 characters back, and not before the end of the previous match. Among
    those starts the leftmost one that can match is the largest of those three bounds (from
    any later start in the run, one character earlier also matches), so one ``match`` per key
    word decides.
    """
    cursor, tried = 0, -1
    for word in anchor.finditer(text):
        position = word.start()
        if position < cursor:
            continue
        start, floor = position, max(position - _KEY_REACH, cursor)
        while start > floor and text[start - 1] in _KEY_CHARS:
            start -= 1
        if start == tried:
            continue
        tried = start
        match = pattern.match(text, start)
        if match:
            yield match
            cursor = match.end()


def _keyword_led_finditer(
    pattern: re.Pattern[str], keywords: Iterable[str], text: str, lowered: str
) -> Iterator[re.Match[str]]:
    """``pattern.finditer(text)`` for a pattern that starts with one of ``keywords``: only
    the places where a keyword starts are tried (a case-insensitive alternation tried at every
    position is what makes such a scan slow)."""
    starts: set[int] = set()
    for word in keywords:
        at = lowered.find(word)
        while at != -1:
            starts.add(at)
            at = lowered.find(word, at + 1)
    cursor = 0
    for start in sorted(starts):
        if start < cursor:
            continue
        match = pattern.match(text, start)
        if match:
            yield match
            cursor = max(match.end(), start + 1)


def _rule(
    kind: str,
    pattern: str,
    keywords: Iterable[str] = (),
    *,
    flags: int = 0,
    entropy: float | None = None,
    check: Callable[[re.Match[str]], bool] | None = None,
    keyword_led: bool = False,
) -> Rule:
    compiled = re.compile(pattern, flags)
    group = "secret" if "secret" in compiled.groupindex else None
    if group is None and compiled.groups:
        raise ValueError(f"local rule {kind}: use (?:...) or a group named 'secret'")
    return Rule(
        kind,
        compiled,
        tuple(word.lower() for word in keywords),
        secret_group=group,
        entropy=entropy,
        check=check,
        keyword_led=keyword_led,
    )


# ---------------------------------------------------------------- gitleaks rules as data

# Kinds we already reported before the rule set was adopted keep their names, so counts and
# placeholders stay comparable; every other rule is named after its gitleaks id.
_KIND_ALIASES = {
    "private-key": "private_key",
    "slack-webhook-url": "slack_webhook",
    "aws-access-token": "aws_access_key_id",
    "generic-api-key": "generic_secret",
}
_KIND_PREFIXES = {"slack-": "slack_token", "github-": "github_token"}


def gitleaks_kind(rule_id: str) -> str:
    if rule_id in _KIND_ALIASES:
        return _KIND_ALIASES[rule_id]
    for prefix, kind in _KIND_PREFIXES.items():
        if rule_id.startswith(prefix):
            return kind
    return rule_id.replace("-", "_")


@dataclass(frozen=True, slots=True)
class RuleSet:
    rules: tuple[Rule, ...]
    skipped: dict[str, str]  # rule id -> why it was left out


def _allowlist(raw: dict[str, Any]) -> Allowlist | None:
    require_all = str(raw.get("condition", "OR")).upper() == "AND"
    if require_all and (raw.get("paths") or raw.get("commits")):
        return None  # we scan messages, not files: a path condition never holds
    regexes = tuple(compile_re2(pattern) for pattern in raw.get("regexes", ()))
    stopwords = tuple(word.lower() for word in raw.get("stopwords", ()))
    if not regexes and not stopwords:
        return None
    return Allowlist(regexes, stopwords, raw.get("regexTarget", "secret"), require_all)


def _allowlists(raws: Iterable[dict[str, Any]]) -> tuple[Allowlist, ...]:
    return tuple(a for a in (_allowlist(raw) for raw in raws) if a is not None)


def _gitleaks_rule(raw: dict[str, Any], common: tuple[Allowlist, ...]) -> Rule:
    return Rule(
        kind=gitleaks_kind(raw["id"]),
        pattern=compile_re2(raw["regex"]),
        keywords=tuple(word.lower() for word in raw.get("keywords", ())),
        secret_group=raw.get("secretGroup") or None,
        entropy=raw.get("entropy"),
        allowlists=common + _allowlists(raw.get("allowlists", ())),
        anchor=_assignment_anchor(raw["regex"]),
    )


def load_gitleaks(text: str) -> RuleSet:
    """Turn gitleaks' TOML into rules; what cannot apply to chat text is skipped, with a reason."""
    config = tomllib.loads(text)
    common = _allowlists([config.get("allowlist", {})])
    rules: list[Rule] = []
    skipped: dict[str, str] = {}
    for raw in config.get("rules", ()):
        if "regex" not in raw:
            skipped[raw["id"]] = "matches file paths only"
        elif "path" in raw:
            skipped[raw["id"]] = "applies to some file types only"
        else:
            try:
                rules.append(_gitleaks_rule(raw, common))
            except (re.error, FutureWarning, KeyError, ValueError) as error:
                skipped[raw["id"]] = f"regex does not translate: {error}"
    return RuleSet(tuple(rules), skipped)


def _vendored_gitleaks() -> RuleSet:
    source = resources.files("bot.core").joinpath(GITLEAKS_RULES)
    return load_gitleaks(source.read_text(encoding="utf-8"))


# ------------------------------------------------------------------ local rules

# Never re-redact a placeholder inserted by an earlier pass.
_NOT_DONE = r"(?!\[REDACTED:)"
# Words that name a secret when a value is assigned to them; the same tuple is the rule's
# keyword prefilter and its key pattern.
_GENERIC_WORDS = (
    "password",
    "passwd",
    "passphrase",
    "secret",
    "secret_key",
    "token",
    "api_key",
    "api-key",
    "apikey",
    "access_key",
    "access-key",
    "accesskey",
    "private_key",
    "private-key",
    "privatekey",
    "credential",
    "credentials",
)


def _any_word(words: Iterable[str]) -> str:
    """A case-insensitive alternation of ``words``, taken literally."""
    return "(?i:" + "|".join(re.escape(word) for word in words) + ")"


_GENERIC_KEYS = r"(?<![A-Za-z0-9])" + _any_word(_GENERIC_WORDS)
# Key, optional (possibly backslash-escaped) closing quote, then ":" or "=".
_GENERIC_SEP = r"[\\\"']*\s*[:=]\s*\\?"

_HIGH_ENTROPY_WORDS = (
    "pass",
    "pwd",
    "secret",
    "token",
    "key",
    "auth",
    "cred",
    "cookie",
    "session",
    "signature",
    "salt",
    "private",
)
_HIGH_ENTROPY_MIN_BITS = 3.5
# Keys that name something about a secret rather than the secret itself.
_NOT_A_SECRET_KEY = re.compile(
    r"(?i)[_.\-]?(?:id|ids|url|uri|name|file|path|type|size|len|length|count)$"
)


def _high_entropy_value(match: re.Match[str]) -> bool:
    value = match.group("secret")
    if _NOT_A_SECRET_KEY.search(match.group("key")):
        return False
    before = match.string[max(0, match.start() - 7) : match.start()].lower()
    if before.rstrip("_.-").endswith("public"):
        return False
    # Words joined by separators ("my-long-feature-name") have letters only.
    return any(c.isdigit() for c in value) and shannon_entropy(value) > _HIGH_ENTROPY_MIN_BITS


def _mixed_case_base64(charset: str) -> str:
    # Both cases present: what random base64 has and a hex digest (e.g. a git sha) has not.
    return rf"(?=[{charset}]{{0,39}}[A-Z])(?=[{charset}]{{0,39}}[a-z])"


_AWS_SECRET_CHARS = "A-Za-z0-9/+"


def _local_rules_first() -> list[Rule]:
    """Rules whose kind is more useful than what a broader rule would call the same span."""
    return [
        _rule(
            "private_key",
            # A truncated block (no END line, e.g. a cut-off log) is redacted to the end of text.
            r"-----BEGIN (?:[A-Z0-9]+ )*PRIVATE KEY(?: BLOCK)?-----"
            r"(?:.*?-----END (?:[A-Z0-9]+ )*PRIVATE KEY(?: BLOCK)?-----|.*)",
            ["-----begin"],
            flags=re.DOTALL,
        ),
        _rule(
            "slack_webhook",
            r"https?://hooks\.slack\.com/(?:services|workflows|triggers)/[A-Za-z0-9_/\-]+",
            ["hooks.slack.com"],
        ),
        _rule(
            "slack_token",
            r"\b(?:xoxe\.)?(?:xox[abcdeprs]|xapp)-[A-Za-z0-9\-]{10,}",
            ["xox", "xapp-"],
        ),
        _rule(
            "github_token",
            r"\b(?:gh[pousr]_[A-Za-z0-9]{36,}|github_pat_[A-Za-z0-9_]{22,})",
            ["gh", "github_pat_"],
        ),
        _rule("aws_access_key_id", r"\b(?:AKIA|ASIA)[A-Z0-9]{16}\b", ["akia", "asia"]),
        _rule(
            "aws_secret_access_key",
            r"(?i:aws_?secret_?(?:access_?)?key)[\\\"']*\s*[:=]\s*[\\\"']*"
            r"(?P<secret>[A-Za-z0-9/+=]{40})(?![A-Za-z0-9/+=])",
            ["aws"],
        ),
        _rule(
            "aws_secret_access_key",
            # A bare secret key: 40 base64 characters shortly after a key id or an AWS-ish key
            # name, as in credential CSVs, STS output ("SecretAccessKey") or "aws key: ...".
            r"(?:\b(?:AKIA|ASIA)[A-Z0-9]{16}\b|(?<![A-Za-z])(?i:aws)[A-Za-z0-9_.\- ]{0,30}"
            r"(?i:secret|key)|(?i:secret_?access_?key))[^\n]{0,100}?"
            r"(?<![A-Za-z0-9/+=])(?P<secret>"
            + _mixed_case_base64(_AWS_SECRET_CHARS)
            + rf"[{_AWS_SECRET_CHARS}]{{40}})(?![A-Za-z0-9/+=])",
            ["akia", "asia", "aws", "secretaccesskey", "secret_access_key"],
            entropy=3.0,
        ),
        _rule(
            "url_password",
            # Bounded repeats keep matching linear on long unbroken lines (base64 blobs in logs).
            r"\b[A-Za-z][A-Za-z0-9+.\-]{0,30}://[^\s:/@]{0,256}:"
            + _NOT_DONE
            + r"(?P<secret>[^\s/?#]{1,256})@",
            ["://"],
        ),
        _rule(
            "bearer_token",
            r"(?i:authorization)[\\\"']*\s*[:=]\s*[\\\"']*(?i:bearer|token)\s+"
            + _NOT_DONE
            + r"(?P<secret>[^\s\"'\\,;]+)",
            ["authorization"],
        ),
        _rule(
            "basic_auth",
            r"(?i:authorization)[\\\"']*\s*[:=]\s*[\\\"']*(?i:basic)\s+"
            + _NOT_DONE
            + r"(?P<secret>[A-Za-z0-9+/=]+)",
            ["authorization"],
        ),
        # Without the header name, demand a token-sized value so prose like "Bearer bonds" survives.
        _rule(
            "bearer_token",
            r"\b(?:Bearer|BEARER)\s+(?P<secret>[A-Za-z0-9\-._~+/]{16,}=*)",
            ["bearer"],
        ),
    ]


def _local_rules_generic() -> list[Rule]:
    """Secrets known only by the key they are assigned to; they run after every specific rule."""
    return [
        _rule(
            "generic_secret",
            _GENERIC_KEYS
            + _GENERIC_SEP
            + r"(?P<q>[\"'])"
            + _NOT_DONE
            + r"(?P<secret>(?:(?!(?P=q))[^\n\\]){8,})(?P=q)",
            _GENERIC_WORDS,
            keyword_led=True,
        ),
        _rule(
            "generic_secret",
            _GENERIC_KEYS + _GENERIC_SEP + r"(?![\"'\[])(?P<secret>[^\s\"'`,;&<>\\]{8,})",
            _GENERIC_WORDS,
            keyword_led=True,
        ),
    ]


def _local_rules_last() -> list[Rule]:
    return [
        _rule(
            "high_entropy",
            # Starts at the secret-sounding word: a literal start keeps the scan cheap; what
            # comes before the word only matters for "public_key" and the like (the check).
            r"(?P<key>"
            + _any_word(_HIGH_ENTROPY_WORDS)
            + r"[A-Za-z0-9_.\-]{0,20})[\\\"']*\s*(?:=>|:=|[:=])\s*\\?[\"'`]?"
            r"(?P<secret>[A-Za-z0-9+/=_\-.~]{16,512})(?![A-Za-z0-9+/=_\-.~])",
            _HIGH_ENTROPY_WORDS,
            check=_high_entropy_value,
            keyword_led=True,
        ),
    ]


def build_rules(gitleaks: RuleSet) -> tuple[Rule, ...]:
    """Order matters: the first rule to claim a span names its kind."""
    specific = [r for r in gitleaks.rules if r.kind != "generic_secret"]
    generic = [r for r in gitleaks.rules if r.kind == "generic_secret"]
    return tuple(
        _local_rules_first() + specific + _local_rules_generic() + generic + _local_rules_last()
    )


# ------------------------------------------------------------------ the pipeline


class _Spans:
    """Disjoint spans already claimed (placeholders, and secrets found in this pass)."""

    def __init__(self, spans: Iterable[Span]) -> None:
        self._spans: list[Span] = sorted(spans)

    def overlaps(self, span: Span) -> bool:
        at = bisect_left(self._spans, span)
        before = self._spans[at - 1] if at > 0 else None
        after = self._spans[at] if at < len(self._spans) else None
        return (before is not None and before[1] > span[0]) or (
            after is not None and after[0] < span[1]
        )

    def add(self, span: Span) -> None:
        self._spans.insert(bisect_left(self._spans, span), span)


class Redactor:
    def __init__(self, rules: Sequence[Rule]) -> None:
        self.rules = tuple(rules)
        # Rules share keywords ("key", "token"...): look each up once per text.
        self.keywords = tuple(sorted({word for rule in self.rules for word in rule.keywords}))
        # All keywords found in one pass over a text (Aho-Corasick), instead of one substring
        # search per keyword: hundreds of keywords made that lookup the cost of a long reply.
        self._finder = ahocorasick.Automaton()
        for word in self.keywords:
            self._finder.add_word(word, word)
        if self.keywords:
            self._finder.make_automaton()
        # Which rules each keyword wakes (by position, to keep the order), and which run always.
        self._woken: dict[str, list[int]] = {word: [] for word in self.keywords}
        self._always: list[int] = []
        for index, rule in enumerate(self.rules):
            for word in rule.keywords:
                self._woken[word].append(index)
            if not rule.keywords:
                self._always.append(index)

    def keywords_in(self, lowered: str) -> set[str]:
        """The rule set's keywords that occur in ``lowered`` (a lower-cased text)."""
        if not self.keywords:
            return set()
        return {word for _end, word in self._finder.iter(lowered)}

    def _wanted(self, present: Iterable[str]) -> list[Rule]:
        """The rules to run, in order, given the keywords found in the text."""
        indices = set(self._always)
        for word in present:
            indices.update(self._woken[word])
        return [self.rules[index] for index in sorted(indices)]

    def redact_counted(self, text: str) -> tuple[str, dict[str, int]]:
        counts: Counter[str] = Counter()
        for _ in range(_MAX_PASSES):
            text, found = self._one_pass(text)
            if not found:
                break
            counts.update(found)
        return text, dict(counts)

    def redact(self, text: str) -> str:
        return self.redact_counted(text)[0]

    def redact_many(self, texts: Sequence[str]) -> list[str]:
        """Each text redacted alone (one keyword pass each: the automaton makes that cheap)."""
        return [self.redact_counted(text)[0] for text in texts]

    def changes_any(self, texts: Sequence[str]) -> bool:
        """Whether `redact_many(texts)` would change any text, from one scan of all together.

        The texts are joined with `_SEAM`. Next to it a rule sees what it sees at a text's
        start or end: its lookarounds and ``\\b`` treat a newline as they treat the edge, and
        wherever a rule anchors on ``^``, ``$`` or ``\\Z`` it can take a newline instead, which
        puts the match in the seam. A match that reaches into a seam (that, or a multi-line ``curl``
        command, a quoted value running on) could hide what the same rule would find in the
        next text, so it counts as a change too, and the texts are then redacted one by one.
        """
        joined = _SEAM.join(texts)
        seams: list[int] = []
        at = 0
        for text in texts[:-1]:
            at += len(text)
            seams.append(at)
            at += len(_SEAM)
        for rule, match, span, claimed in self._candidates(joined):
            start, end = match.span()
            nearest = bisect_left(seams, end) - 1  # the last seam starting before `end`
            if nearest >= 0 and seams[nearest] + len(_SEAM) > start:
                return True
            if span is not None and not claimed and rule.accepts(joined[span[0] : span[1]], match):
                return True
        return False

    def _candidates(
        self, text: str, claimed: _Spans | None = None
    ) -> Iterator[tuple[Rule, re.Match[str], Span | None, bool]]:
        """Every match of every rule whose keywords are present: the rule, the match, its
        secret's span (None when empty) and whether that span overlaps one in ``claimed``."""
        lowered = text.lower()
        if claimed is None:
            earlier = PLACEHOLDER.finditer(text) if "[redacted:" in lowered else ()
            claimed = _Spans(m.span() for m in earlier)
        for rule in self._wanted(self.keywords_in(lowered)):
            for match in rule.finditer(text, lowered):
                span = rule.secret_span(match)
                if span is not None and span[0] == span[1]:
                    span = None
                yield rule, match, span, span is not None and claimed.overlaps(span)

    def _one_pass(self, text: str) -> tuple[str, Counter[str]]:
        lowered = text.lower()
        earlier = PLACEHOLDER.finditer(text) if "[redacted:" in lowered else ()
        claimed = _Spans(m.span() for m in earlier)
        hits: list[tuple[int, int, str]] = []
        for rule, match, span, taken in self._candidates(text, claimed):
            if span is None or taken:
                continue
            if rule.accepts(text[span[0] : span[1]], match):
                claimed.add(span)
                hits.append((span[0], span[1], rule.kind))
        return _replace(text, hits), Counter(kind for _, _, kind in hits)


def _replace(text: str, hits: list[tuple[int, int, str]]) -> str:
    if not hits:
        return text
    pieces: list[str] = []
    position = 0
    for start, end, kind in sorted(hits):
        pieces += [text[position:start], placeholder(kind)]
        position = end
    pieces.append(text[position:])
    return "".join(pieces)


GITLEAKS = _vendored_gitleaks()
PIPELINE = Redactor(build_rules(GITLEAKS))


def redact_text_counted(text: str) -> tuple[str, dict[str, int]]:
    """Redact credentials in ``text`` and report how many of each kind were replaced."""
    return PIPELINE.redact_counted(text)


def redact_text(text: str) -> str:
    return PIPELINE.redact(text)


# Fields of Slack payloads that are identifiers or protocol values, not user content.
SLACK_STRUCTURAL_KEYS = frozenset(
    {
        "token",  # Slack's (deprecated) verification token, checked on the way in
        "response_url",
        "trigger_id",
        "ts",
        "thread_ts",
        "event_ts",
        "message_ts",
        "event_id",
        "event_time",
        "api_app_id",
        "team_id",
        "enterprise_id",
        "channel_id",
        "user_id",
        "bot_id",
        "app_id",
        "id",
        "type",
        "subtype",
        "action_id",
        "block_id",
        "callback_id",
    }
)


class ForgeKeys(frozenset[str]):
    """Fields a forge or CI provider generates itself (API and web addresses, node ids, commit
    shas): never text a person typed. A GitHub delivery is three quarters such addresses, and
    scanning them would cost ten times the rest."""

    def __contains__(self, key: object) -> bool:
        if not isinstance(key, str):
            return False
        return super().__contains__(key) or key.endswith("_url") or key.endswith("_sha")


FORGE_STRUCTURAL_KEYS = ForgeKeys(
    SLACK_STRUCTURAL_KEYS | {"url", "node_id", "sha", "before", "after", "checkout_sha", "uuid"}
)


def redact_payload(
    obj: Any,
    keep: Collection[str] = SLACK_STRUCTURAL_KEYS,
    *,
    prepare: Callable[[str], str] | None = None,
) -> Any:
    """A JSON-like structure with every string value redacted (itself when nothing was).

    Keys are structure and stay as they are; so do scalar values under a key named in
    ``keep`` (identifiers, timestamps, the verification token, ``response_url``), which the
    work needs verbatim. Containers under such a key are still walked.

    ``prepare``, when given, is applied to each string before it is redacted, in the same walk
    (the Slack client removes broadcasts there). An object with ``to_dict()`` (a Block Kit
    block) is walked as the dict it serialises to, and the result holds that dict.
    """
    texts: list[str] = []
    converted: list[Any] = []
    _collect(obj, keep, texts, converted)
    prepared = texts if prepare is None else [prepare(text) for text in texts]
    # Most payloads hold no secret: one scan of all their strings together says so.
    if PIPELINE.changes_any(prepared):
        prepared = PIPELINE.redact_many(prepared)
    elif not converted and prepared == texts:
        return obj
    return _rebuild(obj, keep, iter(prepared), iter(converted))


def _as_plain(obj: Any) -> Any:
    """What a non-JSON object is walked as: its ``to_dict()``, a mapping as a dict, else None."""
    to_dict = getattr(obj, "to_dict", None)
    if callable(to_dict):
        return to_dict()
    return dict(obj) if isinstance(obj, Mapping) else None


def _collect(obj: Any, keep: Collection[str], texts: list[str], converted: list[Any]) -> None:
    if isinstance(obj, str):
        texts.append(obj)
    elif isinstance(obj, dict):
        for key, value in obj.items():
            if not (key in keep and not isinstance(value, dict | list | tuple)):
                _collect(value, keep, texts, converted)
    elif isinstance(obj, list | tuple):
        for item in obj:
            _collect(item, keep, texts, converted)
    elif obj is not None and not isinstance(obj, int | float):
        plain = _as_plain(obj)
        if plain is not None:
            converted.append(plain)
            _collect(plain, keep, texts, converted)


def _rebuild(
    obj: Any, keep: Collection[str], redacted: Iterator[str], converted: Iterator[Any]
) -> Any:
    """The same walk as `_collect`, taking each string's redacted form in order."""
    if isinstance(obj, str):
        return next(redacted)
    if isinstance(obj, dict):
        return {
            key: value
            if key in keep and not isinstance(value, dict | list | tuple)
            else _rebuild(value, keep, redacted, converted)
            for key, value in obj.items()
        }
    if isinstance(obj, list | tuple):
        return [_rebuild(item, keep, redacted, converted) for item in obj]
    if obj is not None and not isinstance(obj, int | float) and _is_convertible(obj):
        return _rebuild(next(converted), keep, redacted, converted)
    return obj


def _is_convertible(obj: Any) -> bool:
    return callable(getattr(obj, "to_dict", None)) or isinstance(obj, Mapping)
