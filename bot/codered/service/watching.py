"""What each code red view is drawn from: the rows whose changes redraw it.

The rules change records and never name a view; a change to a row listed here marks the views
that show it dirty in the same transaction (`bot.core.watches`). A key function may look at which
columns a change touched, so that a view is redrawn only when something it shows changed.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sqlalchemy import String, cast, select

from bot.codered.models import (
    CodeRed,
    CodeRedEvent,
    CodeRedLoan,
    CodeRedNotice,
    CodeRedPause,
    CodeRedSpan,
)
from bot.codered.service.options import ANNOUNCE_VIEW, HEADER_VIEW, NOTICE_VIEW, RETRO_VIEW
from bot.core.watches import Named, Rows, Watch, written
from bot.standups import service as standups

Keys = Iterable[Named] | Rows
# Timeline events announced company-wide: each is the record of an announcement.
ANNOUNCED = frozenset({"declared", "level", "resolved"})


def _copy_key(own: Any) -> Any:
    """The record of a view's copy in a spanned workspace: `<id>@<team>` (`split_copy`)."""
    return cast(own, String) + "@" + CodeRedSpan.team_id


def split_copy(record_id: str) -> tuple[int, str | None]:
    """(id, team) of a view's record: an announcement's is its event, a header's its code red,
    and `@team` names the copy in a workspace the code red spans."""
    own, _, team = record_id.partition("@")
    return int(own), team or None


def _in_spans(event_ids: Rows) -> Rows:
    """(record, workspace) of the copies of announcements in the workspaces the code red spans."""
    event = event_ids.subquery()
    return (
        select(_copy_key(event.c.id), CodeRedSpan.team_id)
        .select_from(event)
        .join(CodeRedSpan, CodeRedSpan.codered_id == event.c.codered_id)
    )


def _announced(row: CodeRedEvent) -> Keys:
    return [row.id] if row.kind in ANNOUNCED else []


def _announced_elsewhere(row: CodeRedEvent) -> Keys:
    if row.kind not in ANNOUNCED:
        return []
    return _in_spans(
        select(CodeRedEvent.id, CodeRedEvent.codered_id).where(CodeRedEvent.id == row.id)
    )


def _declarations(codered_id: int) -> Rows:
    return select(CodeRedEvent.id, CodeRedEvent.codered_id).where(
        CodeRedEvent.codered_id == codered_id, CodeRedEvent.kind == "declared"
    )


def _room_arrived(row: CodeRed) -> bool:
    return "channel_id" in (written(row) or ()) and row.channel_id is not None


def _declaration_waiting_for_room(row: CodeRed) -> Keys:
    """The declaration links the war room: redrawn once the room exists."""
    if not _room_arrived(row):
        return []
    return select(CodeRedEvent.id).where(
        CodeRedEvent.codered_id == row.id, CodeRedEvent.kind == "declared"
    )


def _declaration_elsewhere_waiting_for_room(row: CodeRed) -> Keys:
    return _in_spans(_declarations(row.id)) if _room_arrived(row) else []


def _declared_elsewhere(row: CodeRedSpan) -> Keys:
    """A spanned workspace's copy of the declaration is first drawn when its span is added."""
    return _in_spans(_declarations(row.codered_id)).where(CodeRedSpan.id == row.id)


def _headers_elsewhere(codered_id: Any) -> Rows:
    """(record, workspace) of the copies of a code red's header in the war rooms it has in the
    workspaces it spans."""
    return select(_copy_key(CodeRedSpan.codered_id), CodeRedSpan.team_id).where(
        CodeRedSpan.codered_id == codered_id, CodeRedSpan.channel_id.is_not(None)
    )


def _room_elsewhere_arrived(row: CodeRedSpan) -> Keys:
    if "channel_id" not in (written(row) or ()) or row.channel_id is None:
        return []
    return _headers_elsewhere(row.codered_id).where(CodeRedSpan.id == row.id)


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
        # Its copies in the war rooms of the workspaces it spans.
        Watch(CodeRed, lambda row: _headers_elsewhere(row.id)),
        Watch(CodeRedEvent, lambda row: _headers_elsewhere(row.codered_id)),
        Watch(CodeRedLoan, lambda row: _headers_elsewhere(row.codered_id)),
        Watch(CodeRedPause, lambda row: _headers_elsewhere(row.codered_id)),
        Watch(CodeRedSpan, _room_elsewhere_arrived),
        *standups.day_watches(HEADER_VIEW, widen=_headers_elsewhere),
    ],
    ANNOUNCE_VIEW: [
        Watch(CodeRedEvent, _announced),
        Watch(CodeRedEvent, _announced_elsewhere),
        Watch(CodeRed, _declaration_waiting_for_room),
        Watch(CodeRed, _declaration_elsewhere_waiting_for_room),
        Watch(CodeRedSpan, _declared_elsewhere),
    ],
    RETRO_VIEW: [Watch(CodeRed, _resolution)],
    NOTICE_VIEW: [Watch(CodeRedNotice, _own)],
}
