"""Progress lines of local CLI agents, in each tool's own format.

- Codex `exec --json`: `thread.started`, `turn.*` and `item.*` events;
- Claude Code `--output-format stream-json`: `system`, `assistant`, `user` and `result`;
- Gemini CLI `--output-format stream-json`: `init`, `message`, `tool_use`, `tool_result`,
  `error` and `result`;
- opencode `run --format json`: `step_start`, `text`, `tool_use`, `step_finish`, `error`;
- OpenHands `--headless --json`: SDK events named by `kind`, among plain text lines;
- aider: plain text (`Applied edit to ...`);
- anything else: one JSON object a line, read by its text-like fields ("plain").

We only need a short human step, a final summary, tests and errors. A backend names its format
(`progress`, or its preset's); without one the line's own shape decides.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

_TEXT_KEYS = ("step", "text", "message", "msg", "summary", "result")


@dataclass(frozen=True)
class Line:
    step: str | None = None
    summary: str | None = None
    tests: str | None = None
    error: str | None = None
    delta: bool = False  # the summary is a piece of a streamed reply, to add to what came before


def _object(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _str(value: Any) -> str | None:
    return value.strip() or None if isinstance(value, str) else None


def _first_text(obj: dict[str, Any]) -> str | None:
    for key in _TEXT_KEYS:
        text = _str(obj.get(key))
        if text:
            return text
    return None


def _error_text(value: Any) -> str | None:
    """`"text"` or `{"message": "text", ...}` (`{"data": {"message": ...}}` in opencode)."""
    if isinstance(value, dict):
        data = value.get("data")
        nested = data.get("message") if isinstance(data, dict) else None
        return _str(value.get("message")) or _str(nested) or _str(value.get("name"))
    return _str(value)


def _codex(obj: dict[str, Any]) -> Line | None:
    kind = str(obj.get("type", ""))
    if kind == "turn.failed":
        return Line(error=_error_text(obj.get("error")) or "the agent's turn failed")
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


def _codex_stream(obj: dict[str, Any]) -> Line | None:
    """Codex's own stream: there a top-level `error` is a notice ("Reconnecting... 2/5"), and
    only `turn.failed` ends the turn. Guessing formats, an `error` line stays an error."""
    if obj.get("type") == "error":
        return Line(step=_str(obj.get("message")))
    return _codex(obj)


def _claude(obj: dict[str, Any]) -> Line | None:
    kind = obj.get("type")
    if kind == "result" and "is_error" in obj:
        text = _str(obj.get("result"))
        if not obj["is_error"]:
            return Line(summary=text)
        # error_* results carry `errors` and no `result`; an API failure has both
        errors = [e for e in obj.get("errors") or [] if isinstance(e, str)]
        return Line(error=text or "; ".join(errors) or "the agent reported an error")
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


def _gemini(obj: dict[str, Any]) -> Line | None:
    kind = obj.get("type")
    if kind == "message" and obj.get("role") == "assistant":
        content = obj.get("content") if isinstance(obj.get("content"), str) else ""
        return Line(step=_str(content), summary=content or None, delta=bool(obj.get("delta")))
    if kind == "tool_use":
        return Line(step=f"Using {obj.get('tool_name') or 'a tool'}")
    if kind == "error" and obj.get("severity") == "error":
        return Line(error=_str(obj.get("message")) or "the agent failed")
    if kind == "result":
        failed = obj.get("status") == "error"
        error = (_error_text(obj.get("error")) or "the agent failed") if failed else None
        return Line(error=error)
    if kind in ("init", "message", "tool_result", "error"):
        return Line()
    return None


def _opencode(obj: dict[str, Any]) -> Line | None:
    kind = obj.get("type")
    part = _object(obj.get("part"))
    if kind == "text":
        text = _str(part.get("text"))
        return Line(step=text, summary=text)
    if kind == "tool_use":
        state = _object(part.get("state"))
        title = _str(state.get("title"))
        return Line(step=f"Using {part.get('tool') or 'a tool'}" + (f": {title}" if title else ""))
    if kind == "error":
        return Line(error=_error_text(obj.get("error")) or "the agent failed")
    if kind in ("step_start", "step_finish", "reasoning", "done"):
        return Line()
    return None


def _openhands(obj: dict[str, Any]) -> Line | None:
    kind = obj.get("kind")
    if kind == "ActionEvent":
        action = _object(obj.get("action"))
        summary = _str(obj.get("summary"))
        if action.get("kind") == "FinishAction":
            return Line(summary=_str(action.get("message")) or summary)
        return Line(step=summary or f"Using {obj.get('tool_name') or 'a tool'}")
    if kind == "MessageEvent" and obj.get("source") == "agent":
        message = _object(obj.get("llm_message"))
        texts = [
            _str(block.get("text"))
            for block in message.get("content") or []
            if isinstance(block, dict) and block.get("type") == "text"
        ]
        text = next((t for t in texts if t), None)
        return Line(step=text, summary=text)
    if kind in ("AgentErrorEvent", "ConversationErrorEvent"):
        return Line(error=_str(obj.get("error")) or _str(obj.get("detail")) or "the agent failed")
    if kind == "ConversationStateUpdateEvent" and obj.get("key") == "execution_status":
        stopped = obj.get("value") in ("error", "stuck")
        return Line(error=f"the agent stopped: {obj.get('value')}" if stopped else None)
    return Line() if isinstance(kind, str) else None


_AIDER_NOISE = ("Aider v", "Main model:", "Weak model:", "Git repo:", "Repo-map:", "Tokens:")


def _aider(raw: str) -> Line:
    """aider prints text: its edits ("Applied edit to x") are the steps worth showing."""
    if raw.startswith(_AIDER_NOISE) or raw.startswith(("<<<<<<<", "=======", ">>>>>>>")):
        return Line()
    return Line(step=raw)


def _plain(obj: dict[str, Any]) -> Line:
    kind = obj.get("type")
    tests = _str(obj.get("tests"))
    if kind == "error" or obj.get("error"):
        return Line(error=_str(obj.get("error")) or _first_text(obj) or "the agent failed")
    if kind in ("result", "done", "final"):
        return Line(summary=_first_text(obj), tests=tests)
    return Line(step=_first_text(obj), tests=tests)


Reader = Callable[[dict[str, Any]], Line | None]

FORMATS: dict[str, Reader] = {
    "codex": _codex_stream,
    "claude": _claude,
    "gemini": _gemini,
    "opencode": _opencode,
    "openhands": _openhands,
    "plain": _plain,
}
TEXT_FORMATS = ("aider",)  # formats that are not JSON at all
ALL_FORMATS = (*FORMATS, *TEXT_FORMATS)


def read_line(raw: str, form: str | None = None) -> Line:
    """One stdout line as progress in format `form` (None: guessed from the line);
    a line that is not JSON is shown as it is."""
    raw = raw.strip()
    if not raw:
        return Line()
    if form in TEXT_FORMATS:
        return _aider(raw)
    try:
        obj = json.loads(raw)
    except json.JSONDecodeError:
        return Line() if form == "openhands" else Line(step=raw)  # its banners and panels
    if not isinstance(obj, dict):
        return Line()
    if form is not None:
        return FORMATS[form](obj) or Line()
    return _codex(obj) or _claude(obj) or _plain(obj)
