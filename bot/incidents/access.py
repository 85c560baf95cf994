"""Who holds what, who may see and do what, and which incident a command is about."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.core.commands import UsageError
from bot.incidents.models import Incident, RoleAssignment
from bot.incidents.parsing import FREE_TEXT, Request
from bot.incidents.state import Options


class IncidentError(Exception):
    """A refusal the user reads as it is (no usage appended)."""


# ------------------------------------------------------------------ lookups and rights


async def holders(session: AsyncSession, incident_id: int) -> dict[str, str]:
    """role -> current holder (the latest assignment of each role)."""
    rows = await session.scalars(
        select(RoleAssignment)
        .where(RoleAssignment.incident_id == incident_id)
        .order_by(RoleAssignment.id)
    )
    return {row.role: row.user_id for row in rows}


async def for_channel(session: AsyncSession, channel_id: str | None) -> Incident | None:
    if not channel_id:
        return None
    return await session.scalar(select(Incident).where(Incident.channel_id == channel_id))


async def participants(session: AsyncSession, incident: Incident) -> set[str]:
    """The reporter and everyone who ever held a role: who may see a private incident."""
    rows = await session.scalars(
        select(RoleAssignment.user_id).where(RoleAssignment.incident_id == incident.id)
    )
    return {incident.reporter_id, *rows}


async def can_see(
    session: AsyncSession, opts: Options, incident: Incident, user: str, channel_id: str | None
) -> bool:
    if not incident.private or user in opts.admins or channel_id == incident.channel_id:
        return True
    return user in await participants(session, incident)


async def is_lead(session: AsyncSession, opts: Options, incident: Incident, user: str) -> bool:
    """Commander, reporter or admin: who may resolve and reassign held roles."""
    if user in opts.admins or user == incident.reporter_id:
        return True
    return (await holders(session, incident.id)).get(opts.lead_role) == user


async def target(
    session: AsyncSession, opts: Options, request: Request, user: str, channel_id: str | None
) -> tuple[Incident, str]:
    """The incident a subcommand acts on, and its free text once the number is taken off."""
    here = await for_channel(session, channel_id)
    number = request.explicit_number
    takes_bare = here is None or request.sub not in FREE_TEXT
    if number is None and request.bare_number is not None and takes_bare:
        number = request.bare_number
    if number is None:
        if here is None:
            raise UsageError(
                "Outside an incident channel, say which incident: "
                f"`/incident {request.sub} 42 ...`."
            )
        return here, request.text_with_number
    incident = await session.get(Incident, number)
    if incident is None or not await can_see(session, opts, incident, user, channel_id):
        raise UsageError(f"There is no incident #{number}.")
    return incident, request.text


def require_open(incident: Incident) -> None:
    if incident.resolved_at is not None:
        raise IncidentError(f"Incident #{incident.id} is already resolved.")
