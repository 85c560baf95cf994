"""Progress lines of local CLI agents (Codex `exec --json`, Claude `stream-json`, plain JSON).

Each line is one JSON object; we only need a short human step, a final summary, tests and
errors, so unknown shapes fall back to the first text-like field and nothing is lost by guessing.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

_TEXT_KEYS = ("step", "text", "message", "msg", "summary", "result")


@dataclass(frozen=True)
class Line:
    step: str | None = None
    summary: str | None = None
    tests: str | None = None
    error: str | None = None


def _str(value: Any) -> str | None:
    return value.strip() or None if isinstance(value, str) else None


def _first_text(obj: dict[str, Any]) -> str | None:
    for key in _TEXT_KEYS:
        text = _str(obj.get(key))
        if text:
            return text
    return None


def _codex(obj: dict[str, Any]) -> Line | None:
    kind = str(obj.get("type", ""))
    item = obj.get("item")
    if not kind.startswith("item.") or not isinstance(item, dict):
        return None
    item_type = item.get("type")
    if item_type == "agent_message":
        text = _str(item.get("text"))
        return Line(step=text, summary=text if kind == "item.completed" else None)
    if item_type == "command_execution":
        return Line(step=f"Running `{_str(item.get('command')) or 'a command'}`")
    if item_type == "file_change":
        changes = item.get("changes") or []
        paths = [str(c["path"]) for c in changes if isinstance(c, dict) and c.get("path")]
        return Line(step="Editing " + (", ".join(paths[:3]) or "files"))
    if item_type == "reasoning":
        return Line(step=_str(item.get("text")))
    return Line()


def _claude(obj: dict[str, Any]) -> Line | None:
    kind = obj.get("type")
    if kind == "result" and "is_error" in obj:
        text = _str(obj.get("result"))
        return (
            Line(error=text or "the agent reported an error")
            if obj["is_error"]
            else Line(summary=text)
        )
    message = obj.get("message")
    if kind != "assistant" or not isinstance(message, dict):
        return None
    for block in message.get("content") or []:
        if not isinstance(block, dict):
            continue
        if block.get("type") == "text" and _str(block.get("text")):
            return Line(step=_str(block.get("text")))
        if block.get("type") == "tool_use":
            return Line(step=f"Using {block.get('name', 'a tool')}")
    return Line()


def _plain(obj: dict[str, Any]) -> Line:
    kind = obj.get("type")
    tests = _str(obj.get("tests"))
    if kind == "error" or obj.get("error"):
        return Line(error=_str(obj.get("error")) or _first_text(obj) or "the agent failed")
    if kind in ("result", "done", "final"):
        return Line(summary=_first_text(obj), tests=tests)
    return Line(step=_first_text(obj), tests=tests)


def read_line(raw: str) -> Line:
    """One stdout line as progress; non-JSON lines are shown as they are."""
    raw = raw.strip()
    if not raw:
        return Line()
    try:
        obj = json.loads(raw)
    except json.JSONDecodeError:
        return Line(step=raw)
    if not isinstance(obj, dict):
        return Line()
    return _codex(obj) or _claude(obj) or _plain(obj)
