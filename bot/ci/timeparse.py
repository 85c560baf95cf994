"""Timestamps as CI providers write them, parsed into aware UTC datetimes."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

from pydantic import BeforeValidator


def parse_time(value: Any) -> Any:
    """Accept ISO 8601 and GitLab's "2016-08-12 15:23:28 UTC"; a naive time is taken as UTC."""
    if value is None or isinstance(value, dt.datetime):
        return _aware(value) if isinstance(value, dt.datetime) else value
    if not isinstance(value, str):
        return value
    text = value.strip()
    if text.endswith(" UTC"):
        text = text[:-4] + "+00:00"
    if text.endswith("Z"):
        text = text[:-1] + "+00:00"
    try:
        return _aware(dt.datetime.fromisoformat(text))
    except ValueError:
        return value  # let pydantic report it


def _aware(value: dt.datetime) -> dt.datetime:
    return value.replace(tzinfo=dt.UTC) if value.tzinfo is None else value.astimezone(dt.UTC)


Time = Annotated[dt.datetime, BeforeValidator(parse_time)]
