"""Small pure formatting helpers shared by the CI views."""

from __future__ import annotations

import datetime as dt
import re

from bot.core.security import inert

_USER_ID = re.compile(r"^[UW][A-Z0-9]{2,}$")


def duration(span: dt.timedelta) -> str:
    """`2h 5m`, `3d 4h`, `12m`; under a minute reads as such."""
    minutes = int(span.total_seconds() // 60)
    if minutes < 1:
        return "under a minute"
    days, rest = divmod(minutes, 24 * 60)
    hours, minutes = divmod(rest, 60)
    if days:
        return f"{days}d {hours}h" if hours else f"{days}d"
    if hours:
        return f"{hours}h {minutes}m" if minutes else f"{hours}h"
    return f"{minutes}m"


def when(moment: dt.datetime) -> str:
    """A time every reader sees in their own time zone (Slack renders the token)."""
    stamp = int(moment.timestamp())
    fallback = moment.astimezone(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")
    return f"<!date^{stamp}^{{date_short_pretty}} {{time}}|{fallback}>"


def short(sha: str | None) -> str:
    return f"`{inert((sha or '?')[:7])}`"


def first_line(text: str | None, limit: int = 80) -> str:
    lines = (text or "").strip().splitlines()
    return inert(lines[0], limit) if lines else ""


def mention(user: str | None) -> str | None:
    return f"<@{user}>" if user and _USER_ID.match(user) else None


def run_label(workflow: str, number: str | None, attempt: int) -> str:
    label = inert(workflow, 60) + (f" #{inert(number, 20)}" if number else "")
    return label + (f" (attempt {attempt})" if attempt > 1 else "")
