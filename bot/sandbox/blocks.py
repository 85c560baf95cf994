"""Block Kit validation modelled on the limits Slack enforces server side.

Only limits that commonly trip real bots are checked; anything Slack would accept
must pass here too, so unknown-but-plausible fields are left alone.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from .args import Args
from .errors import SlackError

MAX_MESSAGE_BLOCKS = 50
MAX_SURFACE_BLOCKS = 100  # modals and App Home

KNOWN_BLOCK_TYPES = frozenset(
    {
        "actions",
        "context",
        "divider",
        "file",
        "header",
        "image",
        "input",
        "markdown",
        "rich_text",
        "section",
        "table",
        "video",
        "call",
        "context_actions",
    }
)

Block = dict[str, Any]


def parse_blocks(
    args: Args, name: str = "blocks", limit: int = MAX_MESSAGE_BLOCKS
) -> list[Block] | None:
    """The decoded blocks argument, or None when absent; raises Slack's error codes."""
    if name not in args.raw or args.raw[name] in (None, ""):
        return None
    blocks = args.decoded(name, error="invalid_blocks_format")
    return validate_blocks(blocks, limit)


def validate_blocks(blocks: Any, limit: int = MAX_MESSAGE_BLOCKS) -> list[Block]:
    if not isinstance(blocks, list):
        raise SlackError("invalid_blocks_format")
    for index, block in enumerate(blocks):
        _check_block(block, f"/blocks/{index}")
    if len(blocks) > limit:
        raise SlackError(
            "too_many_blocks",
            [f"[ERROR] no more than {limit} items allowed [json-pointer:/blocks]"],
        )
    _check_unique_block_ids(blocks)
    return blocks


def _fail(pointer: str, why: str) -> SlackError:
    return SlackError("invalid_blocks", [f"[ERROR] {why} [json-pointer:{pointer}]"])


def _check_block(block: Any, pointer: str) -> None:
    if not isinstance(block, dict) or not isinstance(block.get("type"), str):
        raise _fail(pointer, "must provide an object with a type")
    kind = block["type"]
    if kind not in KNOWN_BLOCK_TYPES:
        raise _fail(f"{pointer}/type", f"unsupported type: {kind}")
    block_id = block.get("block_id")
    if block_id is not None and (not isinstance(block_id, str) or len(block_id) > 255):
        raise _fail(f"{pointer}/block_id", "must be a string of at most 255 characters")
    checker = _CHECKERS.get(kind)
    if checker is not None:
        checker(block, pointer)


def _check_text(obj: Any, pointer: str, max_len: int, plain_only: bool = False) -> None:
    if not isinstance(obj, dict) or obj.get("type") not in ("plain_text", "mrkdwn"):
        raise _fail(pointer, "must be a text object")
    if plain_only and obj["type"] != "plain_text":
        raise _fail(f"{pointer}/type", "must be plain_text")
    text = obj.get("text")
    if not isinstance(text, str) or not text:
        raise _fail(f"{pointer}/text", "must be a non-empty string")
    if len(text) > max_len:
        raise _fail(f"{pointer}/text", f"must be less than {max_len + 1} characters")


def _check_section(block: Block, pointer: str) -> None:
    if "text" not in block and "fields" not in block:
        raise _fail(pointer, "must provide either text or fields")
    if "text" in block:
        _check_text(block["text"], f"{pointer}/text", 3000)
    fields = block.get("fields", [])
    if not isinstance(fields, list) or len(fields) > 10:
        raise _fail(f"{pointer}/fields", "no more than 10 items allowed")
    for i, item in enumerate(fields):
        _check_text(item, f"{pointer}/fields/{i}", 2000)


def _check_header(block: Block, pointer: str) -> None:
    _check_text(block.get("text"), f"{pointer}/text", 150, plain_only=True)


def _check_context(block: Block, pointer: str) -> None:
    elements = block.get("elements")
    if not isinstance(elements, list) or not 1 <= len(elements) <= 10:
        raise _fail(f"{pointer}/elements", "must provide 1 to 10 elements")


def _check_actions(block: Block, pointer: str) -> None:
    elements = block.get("elements")
    if not isinstance(elements, list) or not 1 <= len(elements) <= 25:
        raise _fail(f"{pointer}/elements", "must provide 1 to 25 elements")
    for i, element in enumerate(elements):
        if not isinstance(element, dict) or "type" not in element:
            raise _fail(f"{pointer}/elements/{i}", "must provide an object with a type")
        if element["type"] == "button":
            _check_text(element.get("text"), f"{pointer}/elements/{i}/text", 75, plain_only=True)


def _check_image(block: Block, pointer: str) -> None:
    if not block.get("alt_text"):
        raise _fail(f"{pointer}/alt_text", "must provide alt_text")
    if not block.get("image_url") and not block.get("slack_file"):
        raise _fail(pointer, "must provide image_url or slack_file")


def _check_input(block: Block, pointer: str) -> None:
    _check_text(block.get("label"), f"{pointer}/label", 2000, plain_only=True)
    if not isinstance(block.get("element"), dict):
        raise _fail(f"{pointer}/element", "must provide an element")


_CHECKERS: dict[str, Callable[[Block, str], None]] = {
    "section": _check_section,
    "header": _check_header,
    "context": _check_context,
    "actions": _check_actions,
    "image": _check_image,
    "input": _check_input,
}


def _check_unique_block_ids(blocks: list[Block]) -> None:
    seen: set[str] = set()
    for index, block in enumerate(blocks):
        block_id = block.get("block_id")
        if block_id is None:
            continue
        if block_id in seen:
            raise _fail(f"/blocks/{index}/block_id", "duplicate block_id")
        seen.add(block_id)
