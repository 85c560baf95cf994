"""Typed access to Web API arguments, however the client encoded them.

Form bodies and query strings carry only strings ("1"/"true" for booleans, JSON text
for blocks), while JSON bodies carry native values; handlers should not care which.
"""

from __future__ import annotations

import json
from typing import Any

from .errors import SlackError

_TRUE = {"1", "true", "yes", "on"}


class Args:
    def __init__(self, raw: dict[str, Any], base: str = "", token: str | None = None) -> None:
        self.raw = raw
        self.base = base
        self.token = token  # what the call was authenticated with

    def has(self, name: str) -> bool:
        return self.raw.get(name) not in (None, "")

    def text(self, name: str, default: str = "") -> str:
        value = self.raw.get(name)
        if value is None:
            return default
        return value if isinstance(value, str) else json.dumps(value)

    def required(self, name: str, error: str = "invalid_arguments") -> str:
        value = self.text(name).strip()
        if not value:
            raise SlackError(error, [f"[ERROR] missing required field: {name}"])
        return value

    def flag(self, name: str, default: bool = False) -> bool:
        value = self.raw.get(name)
        if value is None or value == "":
            return default
        if isinstance(value, bool):
            return value
        return str(value).strip().lower() in _TRUE

    def integer(self, name: str, default: int, error: str = "invalid_arguments") -> int:
        value = self.raw.get(name)
        if value is None or value == "":
            return default
        try:
            return int(float(value))
        except (TypeError, ValueError):
            raise SlackError(error) from None

    def number(self, name: str, default: float) -> float:
        value = self.raw.get(name)
        if value is None or value == "":
            return default
        try:
            return float(value)
        except (TypeError, ValueError):
            raise SlackError("invalid_arguments") from None

    def decoded(self, name: str, error: str = "invalid_arguments") -> Any:
        """A structured argument that form-encoded clients send as JSON text."""
        value = self.raw.get(name)
        if not isinstance(value, str):
            return value
        if value == "":
            return None
        try:
            return json.loads(value)
        except json.JSONDecodeError:
            raise SlackError(error) from None

    def id_list(self, name: str) -> list[str]:
        value = self.raw.get(name)
        if value is None:
            return []
        items = value if isinstance(value, list) else str(value).split(",")
        return [str(item).strip() for item in items if str(item).strip()]

    def recorded(self) -> dict[str, Any]:
        return {k: v for k, v in self.raw.items() if k not in ("token", "client_secret")}
