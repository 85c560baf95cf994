"""Which rows each App Home is drawn from, and whose homes a change to one redraws.

Only homes of people who opened theirs lately are kept (`ACTIVE_FOR`); the rest are drawn
when opened. Workspace-wide sections (the code red banner, CI) redraw every kept home, but only
when a column they show changes.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import Select, literal, select, union

from bot.agents import service as agents
from bot.ci import service as ci
from bot.codered import service as codered
from bot.core.db import utcnow
from bot.core.watches import Watch, wrote
from bot.home.models import HomeTab
from bot.incidents import service as incidents
from bot.standups import service as standups

ACTIVE_FOR = dt.timedelta(days=14)


def _homes(users: Select[Any] | None = None) -> Select[Any]:
    """The kept homes among `users` (every kept home when None)."""
    kept = select(HomeTab.user_id).where(HomeTab.opened_at >= utcnow() - ACTIVE_FOR)
    return kept if users is None else kept.where(HomeTab.user_id.in_(users))


def _home_of(user: str | None) -> Select[Any]:
    return _homes(select(literal(user)))


def _incident_people(row: Any) -> Select[Any]:
    roles = select(incidents.RoleAssignment.user_id).where(
        incidents.RoleAssignment.incident_id == row.id
    )
    reporter = getattr(row, "reporter_id", None)  # a Core write may name only the id
    return _homes(select(union(roles, select(literal(reporter))).subquery().c[0]))


def _banner_homes(row: Any) -> Select[Any] | list[str]:
    # The banner is everyone's, but shows only these: the header's minute ticks redraw no home.
    shown = ("level", "focus", "owner_id", "channel_id", "level_since", "active_slot")
    return _homes() if wrote(row, *shown) else []


def _pipeline_homes(row: Any) -> Select[Any] | list[str]:
    # A run updates its pipeline's newest run on every webhook; homes show only its state.
    return _homes() if wrote(row, "state") else []


def watches() -> list[Watch]:
    """Each source row, and the homes that show it."""
    return [
        Watch(HomeTab, lambda row: [row.user_id]),  # opened again, or a new time zone
        Watch(codered.CodeRed, _banner_homes),
        Watch(incidents.Incident, _incident_people),
        Watch(incidents.RoleAssignment, lambda row: _home_of(row.user_id)),
        Watch(
            agents.AgentTask,
            lambda row: _homes(
                select(agents.AgentRequest.requester).where(
                    agents.AgentRequest.id == row.request_id
                )
            ),
        ),
        Watch(standups.StandupParticipant, lambda row: _home_of(row.user_id)),
        Watch(
            standups.StandupRun,
            lambda row: _homes(
                select(standups.StandupParticipant.user_id).where(
                    standups.StandupParticipant.standup_id == row.standup_id
                )
            ),
        ),
        Watch(ci.CiPipeline, _pipeline_homes),
        Watch(ci.CiMute, lambda _row: _homes()),
    ]
