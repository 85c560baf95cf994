"""Slack Web API error signalling inside method handlers."""

from __future__ import annotations

from typing import Any


class SlackError(Exception):
    """Raised by a handler to answer `{"ok": false, "error": code}` with HTTP 200.

    Handlers validate everything before mutating state, so raising one never leaves
    a half-applied change behind.
    """

    def __init__(self, code: str, messages: list[str] | None = None, **extra: Any) -> None:
        super().__init__(code)
        self.code = code
        self.messages = messages or []
        self.extra = extra

    def body(self) -> dict[str, Any]:
        body: dict[str, Any] = {"ok": False, "error": self.code, **self.extra}
        if self.messages:
            body["response_metadata"] = {"messages": self.messages}
        return body
