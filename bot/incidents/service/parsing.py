"""Reading `/incident ...` command text into a structured request (pure, no I/O).

Free text (titles, updates) is not shell-split: an apostrophe in "can't reach db" must not be a
syntax error. Slack sends user mentions as `<@U123|name>` when the command escapes entities.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field

from bot.core.commands import UsageError

SUBCOMMANDS = (
    "declare",
    "role",
    "sev",
    "status",
    "update",
    "note",
    "followup",
    "resolve",
    "list",
)
ALIASES = {"severity": "sev", "follow-up": "followup", "roles": "role", "ls": "list"}
FREE_TEXT = {"update", "note", "followup", "resolve"}

_MENTION = re.compile(r"^<@([UW][A-Z0-9]+)(?:\|[^>]*)?>$")
_ANY_MENTION = re.compile(r"<@([UW][A-Z0-9]+)(?:\|[^>]*)?>")
_EXPLICIT_NUMBER = re.compile(r"^#(\d{1,9})$")
_BARE_NUMBER = re.compile(r"^(\d{1,9})$")
# Tokens that look like a severity even when the workspace does not configure them.
_SEVERITY_LIKE = re.compile(r"^(sev|p)\d+$", re.IGNORECASE)
_QUOTES = ('"', "'", "\u201c", "\u201d")
# `... agent [repo=owner/name] [attempts=N]` ending a follow-up: hand it to the coding agents.
_TO_AGENT = re.compile(r"(?:^|\s+)agent((?:\s+(?:repo|attempts)=\S*)*)\s*$", re.IGNORECASE)
AGENT_OPTIONS = ("repo", "attempts")
MAX_TITLE = 150


@dataclass(frozen=True)
class Request:
    """What the user asked for; the incident it targets is resolved later, with the channel."""

    sub: str
    explicit_number: int | None = None  # written as #42: always the incident number
    bare_number: int | None = None  # written as 42: the number unless inside an incident channel
    words: tuple[str, ...] = ()  # arguments after the number, for structured subcommands
    text: str = ""  # the free text after the number
    text_with_number: str = ""  # the free text when a bare leading number is part of it
    user_id: str | None = None
    severity: str | None = None
    extra: dict[str, str] = field(default_factory=dict)
    to_agent: bool = False  # a follow-up to hand to the coding agents (options in `extra`)


def user_from_mention(token: str) -> str | None:
    match = _MENTION.match(token.strip())
    return match.group(1) if match else None


def _split_first(text: str) -> tuple[str, str]:
    parts = text.strip().split(None, 1)
    if not parts:
        return "", ""
    return parts[0], parts[1] if len(parts) > 1 else ""


def _strip_quotes(text: str) -> str:
    text = text.strip()
    if len(text) >= 2 and text[0] in _QUOTES and text[-1] in _QUOTES:
        return text[1:-1].strip()
    return text


def parse(text: str, severities: Sequence[str]) -> Request:
    """Parse the text after `/incident`; raises UsageError with what was wrong."""
    word, rest = _split_first(text)
    sub = ALIASES.get(word.lower(), word.lower())
    if sub not in SUBCOMMANDS:
        raise UsageError(f"I don't know the subcommand `{word}`.")
    if sub == "declare":
        return _parse_declare(rest, severities)
    if sub == "list":
        return Request(sub="list")
    return _parse_targeted(sub, rest)


def _parse_declare(rest: str, severities: Sequence[str]) -> Request:
    known = {s.lower(): s for s in severities}
    words = rest.split()
    severity: str | None = None
    if words and (words[-1].lower() in known or _SEVERITY_LIKE.match(words[-1])):
        last = words[-1]
        if last.lower() not in known:
            raise UsageError(f"Unknown severity `{last}`; use one of {', '.join(severities)}.")
        severity = known[last.lower()]
        rest = rest.rstrip()[: -len(last)]
    title = _strip_quotes(" ".join(rest.split()))
    if not title:
        raise UsageError("The incident needs a title.")
    if len(title) > MAX_TITLE:
        raise UsageError(f"The title is too long ({len(title)} characters, at most {MAX_TITLE}).")
    return Request(sub="declare", text=title, severity=severity)


def _parse_targeted(sub: str, rest: str) -> Request:
    first, after = _split_first(rest)
    explicit = _EXPLICIT_NUMBER.match(first)
    bare = _BARE_NUMBER.match(first)
    explicit_number = int(explicit.group(1)) if explicit else None
    bare_number = int(bare.group(1)) if bare else None
    body = after if (explicit or bare) else rest
    request = Request(
        sub=sub,
        explicit_number=explicit_number,
        bare_number=bare_number,
        words=tuple(body.split()),
        text=body.strip(),
        text_with_number=rest.strip() if bare else body.strip(),
    )
    if sub == "role":
        return _with_role_user(request)
    if sub == "followup":
        return _with_owner(request)
    return request


def _with_role_user(request: Request) -> Request:
    words = request.words
    if len(words) != 2:
        raise UsageError("Say which role and who: `/incident role commander @someone`.")
    user_id = user_from_mention(words[1])
    if user_id is None:
        raise UsageError(f"`{words[1]}` is not a person; mention them like @someone.")
    return Request(
        sub="role",
        explicit_number=request.explicit_number,
        bare_number=request.bare_number,
        words=(words[0].lower(),),
        user_id=user_id,
    )


def _owner_split(text: str) -> tuple[str, str | None]:
    """`fix the alert @bob` -> ("fix the alert", "U0BOB") when the last word is a mention."""
    words = text.split()
    if words:
        owner = user_from_mention(words[-1])
        if owner:
            return text.rstrip()[: -len(words[-1])].strip(), owner
    return text.strip(), None


def _agent_split(text: str) -> tuple[str, dict[str, str] | None]:
    """`fix it @bob agent repo=o/r` -> ("fix it @bob", {"repo": "o/r"}); None: no `agent`."""
    found = _TO_AGENT.search(text)
    if found is None:
        return text, None
    options: dict[str, str] = {}
    for word in found.group(1).split():
        name, _, value = word.partition("=")
        name = name.lower()
        if name in options:
            raise UsageError(f"`{name}=` is given twice.")
        options[name] = value
    return text[: found.start()], options


def _with_owner(request: Request) -> Request:
    text, options = _agent_split(request.text)
    text_with_number, _ = _agent_split(request.text_with_number)
    text, owner = _owner_split(text)
    text_with_number, _ = _owner_split(text_with_number)
    return Request(
        sub="followup",
        explicit_number=request.explicit_number,
        bare_number=request.bare_number,
        words=request.words,
        text=text,
        text_with_number=text_with_number,
        user_id=owner,
        extra=options or {},
        to_agent=options is not None,
    )


def plain_mentions(text: str) -> str:
    """`<@U1|bob>` -> `<@U1>`: keep mentions of people, drop the name Slack appended."""
    return _ANY_MENTION.sub(lambda m: f"<@{m.group(1)}>", text)
