"""Untrusted text as a type, and the one renderer that turns it into Slack output.

Text written by people, reported by CI providers or produced by agents enters views wrapped in
`Untrusted`. The wrapper refuses to be formatted into a string, so the only ways out are the
renderers below, one per kind of sink:

* `mrkdwn`  - section and context text (Slack's mrkdwn, `&`, `<`, `>` escaped);
* `plain`   - plain_text objects, modal values and a message's fallback `text`;
* `topic`   - channel topics and purposes;
* `markdown_file` - uploaded Markdown files such as the postmortem (no links, HTML or images).

Every renderer removes broadcasts (`<!channel>`, `<!here>`, `<!everyone>`, `<!group>`),
user-group pings (`<!subteam^...>`), bidi controls and zero-width characters, defuses bare
`@channel`-style keywords, and never produces a `<url|label>` link. Only a person's own words
keep mentions of single people (`<@U123>`); text from CI or agents mentions nobody.

The one way a view makes a mrkdwn link is `link` (with `safe_url` for the views that show
something else when an address is not safe): only a plain http(s) address, with nothing in it
that ends or splits Slack's `<url|label>` markup, becomes a link.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Literal, NoReturn

Source = Literal["person", "ci", "agent"]
ELLIPSIS = "\u2026"
TOPIC_LIMIT = 250

# Bidi embeddings/overrides/isolates and marks can make text read differently from what it is
# ("txt.exe" shown as "exe.txt"); zero-width characters hide keywords from filters and readers.
_INVISIBLE = (
    [chr(c) for c in range(0x202A, 0x202F)]
    + [chr(c) for c in range(0x2066, 0x206A)]
    + ["\u200e", "\u200f", "\u061c", "\u200b", "\u200c", "\u200d", "\u2060", "\ufeff"]
)
_DROP_INVISIBLE = str.maketrans(dict.fromkeys(_INVISIBLE))
_ANY_INVISIBLE = re.compile("[" + "".join(_INVISIBLE) + "]")

# Slack wraps special syntax in <...>; these forms notify many people at once.
BROADCAST_TOKEN = re.compile(
    r"<!(?:channel|here|everyone|group)(?:\|[^<>]*)?>|<!subteam\^[^<>]*>",
    re.IGNORECASE,
)
# Bare keywords become broadcasts when a message is posted with link_names or parse=full.
BARE_BROADCAST = re.compile(r"@(channel|here|everyone)\b", re.IGNORECASE)
# The "@" of a bare keyword becomes a FULLWIDTH COMMERCIAL AT: it reads as "@channel", Slack
# does not treat it as a keyword, and it is visible. A zero-width space after "@" (the old way)
# is itself the kind of character every sink now removes, which would re-arm the keyword.
DEFUSED_AT = "\uff20"
_PERSON_MENTION = re.compile(r"<@([UW][A-Z0-9]{1,20})(?:\|[^<>]*)?>")
# Lookalike angle quotes: plain-text sinks show them as brackets, Slack never parses them.
_PLAIN_ANGLES = str.maketrans({"<": "\u2039", ">": "\u203a"})
# A link target: http(s), then nothing that ends or splits `<url|label>` (`>`, `|`), opens other
# markup (`<`), breaks the line or quotes out of an attribute or code span.
# (`fullmatch`: a `$` would let a trailing newline through.)
_SAFE_URL = re.compile(r"https?://[^\s<>|\"'`]+")


class UntrustedFormatError(TypeError):
    """Untrusted text was formatted into a string instead of going through a renderer."""


@dataclass(frozen=True, slots=True)
class Untrusted:
    """Text the bot did not write. Render it with `mrkdwn`, `plain`, `topic` or `markdown_file`."""

    raw: str
    source: Source

    def __str__(self) -> NoReturn:
        raise UntrustedFormatError("render Untrusted text with bot.core.text, not str()")

    def __format__(self, spec: str) -> NoReturn:
        raise UntrustedFormatError("render Untrusted text with bot.core.text, not an f-string")

    def __bool__(self) -> bool:
        return bool(self.raw)


def by_person(text: str | None) -> Untrusted:
    return Untrusted(text or "", "person")


def from_ci(text: str | None) -> Untrusted:
    return Untrusted(text or "", "ci")


def from_agent(text: str | None) -> Untrusted:
    return Untrusted(text or "", "agent")


# --------------------------------------------------------------------------- neutralising


def drop_invisible(text: str) -> str:
    return text.translate(_DROP_INVISIBLE) if _ANY_INVISIBLE.search(text) else text


def remove_broadcasts(text: str) -> str:
    """Remove broadcast and group tokens, and defuse bare `@channel`-style keywords."""
    # Removing one token can splice its neighbours into a new one ("<!<!here>here>"),
    # so keep going until nothing changes.
    previous = None
    while previous != text:
        previous = text
        text = BROADCAST_TOKEN.sub("", text)
    return BARE_BROADCAST.sub(lambda m: DEFUSED_AT + m.group(1), text)


def neutralise(text: str) -> str:
    """What every sink does first: invisible characters out, then broadcasts out."""
    if _already_neutral(text):
        return text
    # Invisible characters go first so that "<!chan\u200bnel>" cannot hide from the token match.
    return remove_broadcasts(drop_invisible(text))


def _already_neutral(text: str) -> bool:
    """Most text has nothing to remove, and substring tests (C speed) say so before a regex runs.
    Text without an invisible character, a broadcast token or a bare keyword is left as it is."""
    return not (
        ("<!" in text and BROADCAST_TOKEN.search(text) is not None)
        or ("@" in text and BARE_BROADCAST.search(text) is not None)
        or (not text.isascii() and _ANY_INVISIBLE.search(text) is not None)
    )


# --------------------------------------------------------------------------- renderers


def mrkdwn(text: Untrusted, limit: int | None = None) -> str:
    """Section/context text: renders literally; only a person's `<@U123>` stays a mention."""
    return _render(text, _mrkdwn_atoms, limit)


def plain(text: Untrusted, limit: int | None = None) -> str:
    """plain_text objects, modal values and fallback `text` (which Slack parses for mentions)."""
    return _render(text, _plain_atoms, limit)


def topic(text: Untrusted, limit: int = TOPIC_LIMIT) -> str:
    """A channel topic or purpose: one line, no mentions at all (it stays on screen for days)."""
    one_line = Untrusted(" ".join(text.raw.split()), "agent")
    return _render(one_line, _plain_atoms, limit)


def markdown_file(text: Untrusted, limit: int | None = None) -> str:
    """Text inside an uploaded Markdown file: no links, images, HTML or forged headings."""
    return _render(Untrusted(text.raw, "agent"), _markdown_atoms, limit)


# --------------------------------------------------------------------------- links


def safe_url(url: str | None) -> str | None:
    """`url` when it may be the target of a mrkdwn link (a plain http(s) address), else None."""
    if not url or _ANY_INVISIBLE.search(url) or not _SAFE_URL.fullmatch(url):
        return None
    return url


def link(url: str | None, label: str | Untrusted) -> str:
    """`<url|label>` when `url` is safe (see `safe_url`), else the label alone, as text.

    An `Untrusted` label is rendered with `mrkdwn`; a `str` label is the caller's own mrkdwn
    (already inert), whose angle brackets are escaped all the same so that it can neither end
    the link nor open markup of its own.
    """
    shown = mrkdwn(label) if isinstance(label, Untrusted) else _no_angles(label)
    target = safe_url(url)
    return f"<{target}|{shown}>" if target else shown


def _no_angles(text: str) -> str:
    return text.replace("<", "&lt;").replace(">", "&gt;") if "<" in text or ">" in text else text


# --------------------------------------------------------------------------- atoms

# Each renderer yields atoms: pieces that are never split by a length limit, so a cut never
# leaves half an entity ("&am"), half a mention or half an escape behind.
Atoms = Callable[[str, Source], Iterator[str]]


def _render(text: Untrusted, atoms: Atoms, limit: int | None) -> str:
    if not isinstance(text, Untrusted):
        raise TypeError(f"expected Untrusted, got {type(text).__name__}")
    clean = neutralise(text.raw)
    if limit is None:
        return "".join(atoms(clean, text.source))
    if limit < 0:
        raise ValueError("limit must be >= 0")
    pieces: list[str] = []
    used = 0
    for atom in atoms(clean, text.source):
        pieces.append(atom)
        used += len(atom)
    if used <= limit:
        return "".join(pieces)
    return _cut(pieces, limit)


def _cut(pieces: list[str], limit: int) -> str:
    if limit == 0:
        return ""
    kept: list[str] = []
    used = 0
    for atom in pieces:
        if used + len(atom) > limit - 1:
            break
        kept.append(atom)
        used += len(atom)
    return "".join(kept) + ELLIPSIS


def _split_mentions(text: str) -> Iterator[tuple[str, str | None]]:
    """(text before, user id or None) pairs; mentions of people inside any source's text."""
    last = 0
    for match in _PERSON_MENTION.finditer(text):
        yield text[last : match.start()], match.group(1)
        last = match.end()
    yield text[last:], None


_MRKDWN_ESCAPES = {"&": "&amp;", "<": "&lt;", ">": "&gt;"}


def _mrkdwn_atoms(text: str, source: Source) -> Iterator[str]:
    for before, user in _split_mentions(text):
        for char in before:
            yield _MRKDWN_ESCAPES.get(char, char)
        if user:
            # A person may mention a colleague; CI and agents only name them, inertly.
            yield f"<@{user}>" if source == "person" else "@" + user


def _plain_atoms(text: str, source: Source) -> Iterator[str]:
    for before, user in _split_mentions(text):
        yield from before.translate(_PLAIN_ANGLES)
        if user:
            yield f"<@{user}>" if source == "person" else "@" + user


# Enough escaping that untrusted text stays text in CommonMark and GitHub-flavoured Markdown:
# brackets (links, images, references), HTML and autolinks, code and emphasis, table pipes.
_MARKDOWN_ESCAPES = {
    "\\": "\\\\",
    "[": "\\[",
    "]": "\\]",
    "`": "\\`",
    "*": "\\*",
    "_": "\\_",
    "|": "\\|",
    "~": "\\~",
    "!": "\\!",
    "&": "&amp;",
    "<": "&lt;",
    ">": "&gt;",
}
# Characters that only matter at the start of a line (headings, quotes, lists, rules).
_MARKDOWN_LINE_START = {"#": "\\#", "-": "\\-", "+": "\\+", "=": "\\="}


def _markdown_atoms(text: str, source: Source) -> Iterator[str]:
    line_start = True
    for char in text:
        if line_start and char in _MARKDOWN_LINE_START:
            yield _MARKDOWN_LINE_START[char]
        else:
            yield _MARKDOWN_ESCAPES.get(char, char)
        if char == "\n":
            line_start = True
        elif not char.isspace():
            line_start = False
