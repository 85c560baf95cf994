"""Block Kit rendered as plain text lines, for transcripts."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .state import SandboxState

Block = dict[str, Any]
_MENTION = re.compile(r"<([@#!])([^>|]+)(?:\|([^>]*))?>")
_LINK = re.compile(r"<((?:https?|mailto):[^>|]+)(?:\|([^>]*))?>")


def humanize(state: SandboxState, text: str) -> str:
    """Slack mrkdwn escapes (<@U1>, <#C1|x>, <!subteam^S1>, <url|label>) made readable."""

    def mention(match: re.Match[str]) -> str:
        sigil, target, label = match.group(1), match.group(2), match.group(3)
        if sigil == "@":
            user = state.users.get(target)
            return f"@{user.name if user else target}"
        if sigil == "#":
            channel = state.channels.get(target)
            return f"#{label or (channel.name if channel else target)}"
        if target.startswith("subteam^"):
            group = state.usergroups.get(target.split("^", 1)[1])
            return f"@{label or (group.handle if group else target)}"
        return f"@{label or target}"

    text = _LINK.sub(lambda m: f"{m.group(2)} ({m.group(1)})" if m.group(2) else m.group(1), text)
    return (
        _MENTION.sub(mention, text).replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")
    )


def text_of(obj: Any) -> str:
    if isinstance(obj, dict):
        return str(obj.get("text") or "")
    return str(obj or "")


def element_label(element: Block) -> str:
    kind = str(element.get("type", ""))
    if kind == "button":
        return f"[{text_of(element.get('text'))}]"
    if kind.endswith("_select") or kind.endswith("_multi_select"):
        placeholder = text_of(element.get("placeholder")) or kind
        return f"[select: {placeholder}]"
    if kind == "overflow":
        return "[...]"
    if kind == "image":
        return f"[image: {element.get('alt_text', '')}]"
    if kind in ("checkboxes", "radio_buttons"):
        options = ", ".join(text_of(o.get("text")) for o in element.get("options", []))
        return f"[{kind}: {options}]"
    if kind in ("datepicker", "timepicker", "datetimepicker"):
        initial = element.get("initial_date") or element.get("initial_time") or ""
        return f"[{kind}: {initial or text_of(element.get('placeholder'))}]"
    if kind in ("plain_text", "mrkdwn"):
        return text_of(element)
    return f"[{kind}]"


def _section(state: SandboxState, block: Block) -> list[str]:
    lines = humanize(state, text_of(block.get("text"))).splitlines() if block.get("text") else []
    fields = [humanize(state, text_of(f)).replace("\n", " ") for f in block.get("fields", [])]
    if fields:
        lines.append(" | ".join(fields))
    accessory = block.get("accessory")
    if isinstance(accessory, dict):
        lines.append(element_label(accessory))
    return lines


def _context(state: SandboxState, block: Block) -> list[str]:
    parts = [humanize(state, element_label(e)) for e in block.get("elements", [])]
    return [" · ".join(p for p in parts if p)]


def _actions(state: SandboxState, block: Block) -> list[str]:
    return [" ".join(element_label(e) for e in block.get("elements", []))]


def _image(state: SandboxState, block: Block) -> list[str]:
    title = text_of(block.get("title"))
    return [f"[image: {block.get('alt_text', '')}]" + (f" {title}" if title else "")]


def _input(state: SandboxState, block: Block) -> list[str]:
    element = block.get("element") or {}
    return [f"{text_of(block.get('label'))}: {element_label(element)}"]


def _rich_text(state: SandboxState, block: Block) -> list[str]:
    lines: list[str] = []
    for element in block.get("elements", []):
        kind = element.get("type")
        if kind == "rich_text_list":
            lines.extend(f"- {_inline(state, item)}" for item in element.get("elements", []))
        elif kind == "rich_text_preformatted":
            lines.extend(["```", _inline(state, element), "```"])
        elif kind == "rich_text_quote":
            lines.extend(f"> {line}" for line in _inline(state, element).splitlines())
        else:
            lines.extend(_inline(state, element).splitlines())
    return lines


def _inline(state: SandboxState, container: Block) -> str:
    out: list[str] = []
    for item in container.get("elements", []):
        kind = item.get("type")
        if kind == "text":
            out.append(str(item.get("text", "")))
        elif kind == "link":
            out.append(str(item.get("text") or item.get("url", "")))
        elif kind == "user":
            user = state.users.get(str(item.get("user_id")))
            out.append(f"@{user.name if user else item.get('user_id')}")
        elif kind == "channel":
            channel = state.channels.get(str(item.get("channel_id")))
            out.append(f"#{channel.name if channel else item.get('channel_id')}")
        elif kind == "emoji":
            out.append(f":{item.get('name')}:")
        elif kind == "usergroup":
            group = state.usergroups.get(str(item.get("usergroup_id")))
            out.append(f"@{group.handle if group else item.get('usergroup_id')}")
        elif kind == "broadcast":
            out.append(f"@{item.get('range')}")
        elif "elements" in item:
            out.append(_inline(state, item))
    return "".join(out)


_RENDERERS: dict[str, Callable[[SandboxState, Block], list[str]]] = {
    "header": lambda state, b: [f"== {text_of(b.get('text'))} =="],
    "divider": lambda state, b: ["-" * 24],
    "section": _section,
    "context": _context,
    "actions": _actions,
    "image": _image,
    "input": _input,
    "rich_text": _rich_text,
    "markdown": lambda state, b: humanize(state, str(b.get("text", ""))).splitlines(),
    "file": lambda state, b: [f"[file: {b.get('external_id', '')}]"],
}


def render_blocks(state: SandboxState, blocks: list[Block] | None) -> list[str]:
    lines: list[str] = []
    for block in blocks or []:
        renderer = _RENDERERS.get(str(block.get("type")))
        lines.extend(renderer(state, block) if renderer else [f"[{block.get('type')} block]"])
    return lines
