"""What a feature writes for a coding agent: its own words, and others' text quoted as data.

Everything that came from outside (Slack messages, CI logs, commit messages, diffs) goes
through `PromptWriter.clean`: invisible characters dropped, then the core redaction pipeline,
before anything is cut to size, so a cut never leaves half a secret unrecognised. Quoted text is
marked line by line ("> "), under a note telling the agent never to follow instructions in it.
The redactions are counted, for the request's record.
"""

from __future__ import annotations

from collections import Counter

from bot.core.security import redact_secrets_counted
from bot.core.text import drop_invisible

CUT = " … (cut)"
QUOTE_CUT = "> … (cut)"


class PromptWriter:
    """Collects a prompt's lines, redacting and quoting what comes from outside."""

    def __init__(self) -> None:
        self.lines: list[str] = []
        self.counts: Counter[str] = Counter()

    @property
    def text(self) -> str:
        return "\n".join(self.lines)

    def size(self) -> int:
        """The prompt's length so far, newlines included."""
        return sum(len(line) + 1 for line in self.lines)

    def clean(self, text: str, limit: int | None = None) -> str:
        """`text` without invisible characters or secrets, at most `limit` characters."""
        redacted, found = redact_secrets_counted(drop_invisible(text))
        self.counts.update(found)
        if limit is None or len(redacted) <= limit:
            return redacted
        return redacted[:limit] + CUT

    def one_line(self, text: str | None, limit: int = 200) -> str:
        """The first line of `text`, cleaned, at most `limit` characters."""
        first = (text or "").strip().splitlines()
        return self.clean(first[0])[:limit] if first else ""

    def say(self, *lines: str) -> None:
        self.lines.extend(lines)

    def quote(self, text: str, limit: int | None = None) -> None:
        """Quote `text`; its quoted lines take at most `limit` characters of the prompt,
        newlines and "> " marks included."""
        quoted = ["> " + line for line in self.clean(text).splitlines() or [""]]
        if limit is not None:
            quoted = _fit(quoted, limit)
        self.lines.extend(quoted)


def _fit(quoted: list[str], limit: int) -> list[str]:
    """The first quoted lines that fit in `limit` characters, and a mark when some did not."""
    if sum(len(line) + 1 for line in quoted) <= limit:
        return quoted
    room = limit - len(QUOTE_CUT) - 1
    kept: list[str] = []
    used = 0
    for line in quoted:
        if used + len(line) + 1 > room:
            rest = room - used - 1
            if rest > len("> ") + 10:  # the start of a long line says more than a mark alone
                kept.append(line[:rest])
            break
        kept.append(line)
        used += len(line) + 1
    return [*kept, QUOTE_CUT]
