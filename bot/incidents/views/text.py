"""Small pure formatters shared by the views: safe text, people, local times, durations."""

from __future__ import annotations

import datetime as dt

from bot.core.text import by_person, mrkdwn


def safe(text: str, limit: int | None = None) -> str:
    """A person's words made inert, except that mentions of single people stay mentions.

    Broadcasts (`<!channel>`) and invisible characters are removed and links or other `<...>`
    controls are escaped, so a title can neither ping a channel nor forge a link; `<@U123>`
    still names the person.
    """
    return mrkdwn(by_person(text), limit)


def person(user_id: str | None, empty: str = "_unassigned_") -> str:
    return f"<@{user_id}>" if user_id else empty


def channel_link(channel_id: str | None, empty: str = "_being created_") -> str:
    return f"<#{channel_id}>" if channel_id else empty


def local_time(at: dt.datetime, token: str = "{date_short_pretty} {time}") -> str:
    """A time every reader sees in their own Slack time zone (falls back to UTC text)."""
    fallback = at.astimezone(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")
    return f"<!date^{int(at.timestamp())}^{token}|{fallback}>"


def duration(delta: dt.timedelta | None) -> str:
    if delta is None:
        return "-"
    seconds = max(int(delta.total_seconds()), 0)
    days, seconds = divmod(seconds, 86400)
    hours, seconds = divmod(seconds, 3600)
    minutes, seconds = divmod(seconds, 60)
    if days:
        return f"{days}d {hours}h {minutes:02d}m"
    if hours:
        return f"{hours}h {minutes:02d}m"
    if minutes:
        return f"{minutes}m"
    return f"{seconds}s"


def minutes_text(minutes: int) -> str:
    return duration(dt.timedelta(minutes=minutes))
