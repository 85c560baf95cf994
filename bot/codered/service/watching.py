"""What each code red view is drawn from: the rows whose changes redraw it.

The rules change records and never name a view; a change to a row listed here marks the views
that show it dirty in the same transaction (`bot.core.watches`). A key function may look at which
columns a change touched, so that a view is redrawn only when something it shows changed.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sqlalchemy import Select, select

from bot.codered.models import CodeRed, CodeRedEvent, CodeRedLoan, CodeRedNotice, CodeRedPause
from bot.codered.service.options import ANNOUNCE_VIEW, HEADER_VIEW, NOTICE_VIEW, RETRO_VIEW
from bot.core.watches import Watch, written
from bot.standups import service as standups

Keys = Iterable[int | str | None] | Select[Any]
# Timeline events announced company-wide: each is the record of an announcement.
ANNOUNCED = frozenset({"declared", "level", "resolved"})


def _announced(row: CodeRedEvent) -> Keys:
    return [row.id] if row.kind in ANNOUNCED else []


def _declaration_waiting_for_room(row: CodeRed) -> Keys:
    """The declaration links the war room: redrawn once the room exists."""
    if "channel_id" not in (written(row) or ()) or row.channel_id is None:
        return []
    return select(CodeRedEvent.id).where(
        CodeRedEvent.codered_id == row.id, CodeRedEvent.kind == "declared"
    )


def _resolution(row: CodeRed) -> Keys:
    """The retro is drawn once, when the code red is resolved."""
    return [row.id] if "resolved_at" in (written(row) or ()) else []


def _codered(row: Any) -> Keys:
    return [row.codered_id]


def _own(row: Any) -> Keys:
    return [row.id]


WATCHES: dict[str, list[Watch]] = {
    # The live figures and the day count reach the header through `header_fingerprint`, which
    # the tick rewrites when they change; the check-in through the standup's day.
    HEADER_VIEW: [
        Watch(CodeRed, _own),
        Watch(CodeRedEvent, _codered),
        Watch(CodeRedLoan, _codered),
        Watch(CodeRedPause, _codered),
        *standups.day_watches(HEADER_VIEW),  # who checked in today
    ],
    ANNOUNCE_VIEW: [Watch(CodeRedEvent, _announced), Watch(CodeRed, _declaration_waiting_for_room)],
    RETRO_VIEW: [Watch(CodeRed, _resolution)],
    NOTICE_VIEW: [Watch(CodeRedNotice, _own)],
}
