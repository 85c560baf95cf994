"""What each incident view is drawn from: the rows whose changes redraw it.

The service changes records and never names a view; a change to a row listed here marks the
views that show it dirty in the same transaction (`bot.core.watches`). A key function may look
at which columns a change touched, so that a view is redrawn only when something it shows, or
something it waits for, changed.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sqlalchemy import Select, func, select

from bot.agents import service as agents
from bot.core.watches import Watch, written
from bot.incidents.models import FollowUp, Incident, Reminder, RoleAssignment, TimelineEntry
from bot.incidents.service.kinds import (
    ANNOUNCEMENT,
    CARD,
    LATE_PRS,
    REMINDER,
    ROLE_DM,
    UPDATE_POST,
    UPDATE_THREAD,
)

Keys = Iterable[int | str | None] | Select[Any]
# Columns of an incident that no card shows: writing them (a snooze, the postmortem) redraws none.
UNSHOWN = frozenset({"snoozed_until", "postmortem_md", "postmortem_tz", "postmortem_file_id"})
# Timeline entries the last reminder answers to: it stops asking once one of them is written.
ANSWERS_A_REMINDER = frozenset({"update", "resolved"})


def _shown(row: Incident) -> Keys:
    columns = written(row)
    return [row.id] if columns is None or columns - UNSHOWN else []


def _channel_arrived(row: Incident) -> bool:
    return "channel_id" in (written(row) or ()) and row.channel_id is not None


def _updates_waiting_for_channel(row: Incident) -> Keys:
    """Updates are posted in the incident channel: they go as soon as it exists."""
    if not _channel_arrived(row):
        return []
    return select(TimelineEntry.id).where(
        TimelineEntry.incident_id == row.id, TimelineEntry.kind == "update"
    )


def _dms_waiting_for_channel(row: Incident) -> Keys:
    """A role DM links the channel: it goes as soon as the channel exists."""
    if not _channel_arrived(row):
        return []
    return select(RoleAssignment.id).where(RoleAssignment.incident_id == row.id)


def _update(row: TimelineEntry) -> Keys:
    return [row.id] if row.kind == "update" else []


def _last_reminder(row: TimelineEntry) -> Keys:
    """The last reminder learns of the update or the resolution, so it stops asking."""
    if row.kind not in ANSWERS_A_REMINDER:
        return []
    return select(func.max(Reminder.id)).where(Reminder.incident_id == row.incident_id)


def _postmortem_written(row: Incident) -> Keys:
    return [row.id] if row.postmortem_md is not None else []


def _incident(row: Any) -> Keys:
    return [row.incident_id]


def _own(row: Any) -> Keys:
    return [row.id]


WATCHES: dict[str, list[Watch]] = {
    CARD: [
        Watch(Incident, _shown),
        Watch(TimelineEntry, _incident),
        Watch(RoleAssignment, _incident),
        Watch(FollowUp, _incident),
        # The agents' attempts at a follow-up sent to them: their state and pull requests.
        *agents.request_watches(CARD),
    ],
    ANNOUNCEMENT: [Watch(Incident, _shown), Watch(RoleAssignment, _incident)],
    UPDATE_POST: [Watch(TimelineEntry, _update), Watch(Incident, _updates_waiting_for_channel)],
    UPDATE_THREAD: [Watch(TimelineEntry, _update)],
    # One DM per assignment, posted when the assignment is made (and its channel exists).
    ROLE_DM: [Watch(RoleAssignment, _own), Watch(Incident, _dms_waiting_for_channel)],
    REMINDER: [Watch(Reminder, _own), Watch(TimelineEntry, _last_reminder)],
    # Drawn once the postmortem draft is written, and again as the agents' pull requests open.
    LATE_PRS: [Watch(Incident, _postmortem_written), *agents.request_watches(CARD)],
}
