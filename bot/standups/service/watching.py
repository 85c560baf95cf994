"""The rows each standup view is drawn from (`Watch`): changing them marks the view dirty.

A person's prompt and reminder (DMs) show whether they answered and whether their day is closed:
they follow their own delivery, the person's answer and the cutoff of their day. A day's digest
follows its prompts and cutoffs, the answers, and, for the recent days, the standup itself, its
participants and their days away (a loan shows in the digests of their regular standups).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable
from typing import Any

from sqlalchemy import Integer, Select, cast, select

from bot.core.db import utcnow
from bot.core.watches import Watch
from bot.standups.models import (
    Standup,
    StandupAnswer,
    StandupAway,
    StandupDelivery,
    StandupParticipant,
    StandupRun,
)
from bot.standups.service.kinds import DIGEST_VIEW, PROMPT_VIEW, REMINDER_VIEW

Keys = Iterable[str | int | None] | Select[Any]
# Kinds of delivery a day's digest shows: who was prompted, whose day is closed.
DAY_KINDS = ("prompt", "cutoff")
# Digests this recent show a change of the standup or its people; older ones stay as they were.
RECENT = dt.timedelta(days=2)


def _since() -> dt.date:
    return utcnow().date() - RECENT


def _person_dms(kind: str, run_id: int, user_id: str) -> Keys:
    return select(StandupDelivery.id).where(
        StandupDelivery.run_id == run_id,
        StandupDelivery.user_id == user_id,
        StandupDelivery.kind == kind,
    )


def _dm_watches(kind: str) -> list[Watch]:
    """The DM of delivery `kind` (prompt or reminder): its own row, the answer, the cutoff."""

    def delivery(row: StandupDelivery) -> Keys:
        if row.kind == kind:
            return [row.id]
        if row.kind == "cutoff":
            return _person_dms(kind, row.run_id, row.user_id)
        return []

    def answer(row: StandupAnswer) -> Keys:
        return _person_dms(kind, row.run_id, row.user_id)

    return [Watch(StandupDelivery, delivery), Watch(StandupAnswer, answer)]


def _recent_runs(standup_id: int) -> Keys:
    return select(StandupRun.id).where(
        StandupRun.standup_id == standup_id, StandupRun.run_date >= _since()
    )


def _recent_runs_of_person(row: StandupAway) -> Keys:
    return (
        select(StandupRun.id)
        .join(StandupParticipant, StandupParticipant.standup_id == StandupRun.standup_id)
        .where(StandupParticipant.user_id == row.user_id, StandupRun.run_date >= _since())
        .distinct()
    )


VIEWS: dict[str, list[Watch]] = {
    PROMPT_VIEW: _dm_watches("prompt"),
    REMINDER_VIEW: _dm_watches("reminder"),
    DIGEST_VIEW: [
        Watch(StandupDelivery, lambda row: [row.run_id] if row.kind in DAY_KINDS else []),
        Watch(StandupAnswer, lambda row: [row.run_id]),
        Watch(Standup, lambda row: _recent_runs(row.id)),
        Watch(StandupParticipant, lambda row: _recent_runs(row.standup_id)),
        Watch(StandupAway, _recent_runs_of_person),
    ],
}


def day_watches(kind: str, widen: Callable[[Any], Keys] | None = None) -> list[Watch]:
    """Watches for another feature's view that a standup names as its watcher
    (`create(watch=(kind, id))`, e.g. a header showing who checked in): it is redrawn when the
    standup's day changes, as its prompts go out, people answer and their days close.
    `widen(watch_id)` names other views of the same record instead (its copies elsewhere)."""

    def watcher(standup_id: int) -> Keys:
        watch_id = select(Standup.watch_id).where(
            Standup.id == standup_id, Standup.watch_kind == kind
        )
        if widen is None:
            return watch_id
        return widen(cast(watch_id.scalar_subquery(), Integer))

    def delivery(row: StandupDelivery) -> Keys:
        return watcher(row.standup_id) if row.kind in DAY_KINDS else []

    return [
        Watch(StandupDelivery, delivery),
        Watch(StandupAnswer, lambda row: watcher(row.standup_id)),
    ]
