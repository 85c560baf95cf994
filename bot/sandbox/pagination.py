"""Slack-style opaque cursors over ordered result lists."""

from __future__ import annotations

import base64
import binascii
from collections.abc import Sequence
from typing import TypeVar

from .errors import SlackError

T = TypeVar("T")

_PREFIX = "offset:"


def encode_cursor(offset: int) -> str:
    return base64.b64encode(f"{_PREFIX}{offset}".encode()).decode()


def decode_cursor(cursor: str) -> int:
    if not cursor:
        return 0
    try:
        decoded = base64.b64decode(cursor.encode(), validate=True).decode()
    except (binascii.Error, UnicodeDecodeError):
        raise SlackError("invalid_cursor") from None
    if not decoded.startswith(_PREFIX) or not decoded[len(_PREFIX) :].isdigit():
        raise SlackError("invalid_cursor")
    return int(decoded[len(_PREFIX) :])


def paginate(items: Sequence[T], cursor: str, limit: int) -> tuple[list[T], str]:
    """One page plus the next cursor ("" when exhausted); limit <= 0 means everything."""
    start = decode_cursor(cursor)
    size = limit if limit > 0 else max(len(items) - start, 0)
    end = start + size
    next_cursor = encode_cursor(end) if end < len(items) else ""
    return list(items[start:end]), next_cursor


def page_metadata(next_cursor: str) -> dict[str, dict[str, str]]:
    return {"response_metadata": {"next_cursor": next_cursor}}
