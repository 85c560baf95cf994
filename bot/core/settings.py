"""What every settings section shares: the base model, the key a feature declares its section
under, and the shapes of Slack ids, times and URLs. Each feature declares its own section in
`bot/<feature>/settings.py` as `SECTION`; `bot.config` puts the sections of every feature
together under their keys, and a feature reads its own with `settings.section(SECTION)`."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated, Any, Generic, TypeVar

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    HttpUrl,
    TypeAdapter,
    ValidationError,
)

from bot.core import workspaces

Value = TypeVar("Value", covariant=True)

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


@dataclass(frozen=True)
class SectionKey(Generic[Value]):
    """A feature's place in the settings: its top-level key, the shape of its value (a Section,
    or a list of them), the value when the key is absent, and the line the docs show."""

    name: str
    shape: Any
    default: Callable[[], Value]
    description: str

    def field(self) -> tuple[Any, Any]:
        """The (annotation, field) pair pydantic's create_model takes."""
        return (self.shape, Field(default_factory=self.default, description=self.description))


# A time of day as people write it in the config file.
HHMM = r"^([01]\d|2[0-3]):[0-5]\d$"


Derived = TypeVar("Derived")


class _PerWorkspace:
    """Stands in for a value derived from the settings (a feature's options), made again for
    each workspace the running work is within: its `workspaces:` overrides apply."""

    def __init__(self, make: Callable[[], Any]) -> None:
        self._make = make
        self._made: dict[object, Any] = {}

    def __getattr__(self, name: str) -> Any:
        workspace = workspaces.current()
        key = None if workspace is None else (workspace.team_id, workspace.enterprise_id)
        if key not in self._made:
            self._made[key] = self._make()
        return getattr(self._made[key], name)


def per_workspace(make: Callable[[], Derived]) -> Derived:
    """`make()`'s value as each workspace sees it, for a feature that derives its options
    from the settings once, when it registers."""
    return _PerWorkspace(make)  # type: ignore[return-value]
