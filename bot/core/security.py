"""The two short names features use to make untrusted text safe for Slack.

* ``inert``: raw text of unknown origin as mrkdwn that renders literally and mentions nobody
  (an alias of ``bot.core.text.mrkdwn`` with the strictest source);
* ``redact_secrets``: credentials that leak into logs and agent output replaced by
  placeholders (the pipeline in ``bot.core.redaction``).
"""

from __future__ import annotations

from bot.core.redaction import redact_text, redact_text_counted
from bot.core.text import from_ci, mrkdwn


def inert(text: str, limit: int | None = None) -> str:
    """``mrkdwn(from_ci(text), limit)``: renders literally and mentions nobody.

    The one short name the views use for text whose source they do not track; ``limit`` caps
    the returned length, ellipsis included, without cutting an entity. Where the source is
    known (a person's words keep their mentions), call ``bot.core.text`` with it.
    """
    return mrkdwn(from_ci(text), limit)


# --------------------------------------------------------------------------- secrets
# The rules live in bot.core.redaction (gitleaks' rule set plus a few local rules); these two
# names are the stable entry points the features call.


def redact_secrets_counted(text: str) -> tuple[str, dict[str, int]]:
    """Redact credentials and report how many of each kind were replaced."""
    return redact_text_counted(text)


def redact_secrets(text: str) -> str:
    """Replace credentials in ``text`` with ``[REDACTED:<kind>]`` placeholders."""
    return redact_text(text)
