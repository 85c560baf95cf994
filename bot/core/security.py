"""Make untrusted text (from users, CI logs, agents) safe to post into Slack.

Two separate concerns live here:

* neutralising Slack markup so text cannot forge links, mentions or broadcasts
  (``escape_mrkdwn``, ``strip_broadcasts``, ``inert``);
* scrubbing credentials that leak into logs and agent output (``redact_secrets``, backed by
  the pipeline in ``bot.core.redaction``).
"""

from __future__ import annotations

from bot.core.redaction import redact_text, redact_text_counted
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
# The rules live in bot.core.redaction (gitleaks' rule set plus a few local rules); these two
# names are the stable entry points the features call.


def redact_secrets_counted(text: str) -> tuple[str, dict[str, int]]:
    """Redact credentials and report how many of each kind were replaced."""
    return redact_text_counted(text)


def redact_secrets(text: str) -> str:
    """Replace credentials in ``text`` with ``[REDACTED:<kind>]`` placeholders."""
    return redact_text(text)
