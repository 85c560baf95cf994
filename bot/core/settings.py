"""What every settings section shares: the base model and the shapes of Slack ids, times and
URLs. Each feature declares its own section (`bot/<feature>/settings.py`); `bot.config` puts the
sections together under their keys."""

from __future__ import annotations

from typing import Annotated

from pydantic import AfterValidator, BaseModel, ConfigDict, HttpUrl, TypeAdapter, ValidationError

SLACK_USER_ID = r"^[UW][A-Z0-9]{2,}$"
SLACK_CHANNEL_ID = r"^[CGD][A-Z0-9]{2,}$"
_HTTP_URL: TypeAdapter[HttpUrl] = TypeAdapter(HttpUrl)


def _http_url(value: str) -> str:
    """Checked with pydantic's HttpUrl, kept as the text the operator wrote (readers and
    clients take strings, and HttpUrl would add a trailing slash)."""
    try:
        _HTTP_URL.validate_python(value)
    except ValidationError:
        shown = "" if "@" in value else f" (got {value!r})"  # userinfo may hold a password
        raise ValueError(f"must be an http:// or https:// URL{shown}") from None
    return value


HttpUrlText = Annotated[str, AfterValidator(_http_url)]


class Section(BaseModel):
    model_config = ConfigDict(extra="forbid")


# A time of day as people write it in the config file.
HHMM = r"^([01]\d|2[0-3]):[0-5]\d$"
