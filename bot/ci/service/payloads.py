"""What the provider payload models share: unknown fields ignored, people named alike, and
timestamps as CI providers write them, parsed into aware UTC datetimes.

The provider modules (`bot/ci/github.py`, `gitlab.py`, `buildkite.py`) build their payload models
on these.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

from pydantic import BaseModel, BeforeValidator, ConfigDict


class Payload(BaseModel):
    # Providers add fields all the time; we read what we need and ignore the rest.
    model_config = ConfigDict(extra="ignore")


class Person(Payload):
    name: str | None = None
    email: str | None = None
    username: str | None = None


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
