"""Who holds what, who may see and do what, and which incident a command is about."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.core import workspaces
from bot.core.access import (
    ADMINS,
    CHANNEL_MEMBERS,
    NOT_PRIVATE,
    PARTICIPANTS,
    RecordPolicy,
    Subject,
    record_id,
)
from bot.core.commands import UsageError
from bot.incidents.models import Incident, RoleAssignment
from bot.incidents.service.parsing import FREE_TEXT, Request
from bot.incidents.service.state import Options

INCIDENT = "incident"
ACT = "change"  # resolving and handing over held roles also need `is_lead`, checked by service
# Sending a follow-up to the coding agents: the people who may add follow-ups (`ACT`); the
# agents' own `START` verb is checked beside it.
SEND = "send follow-ups to coding agents from"


class IncidentError(Exception):
    """A refusal the user reads as it is (no usage appended)."""


# ------------------------------------------------------------------ the access policy


def record_policy() -> RecordPolicy:
    """A private incident is for its participants, its channel's members and admins.

    A ref is `#N`, the number people typed (`number_ref`), or the primary key the bot's own
    buttons and views carry; a subject's ref is always the number, as refusals quote it.
    """

    async def load(session: AsyncSession, ref: str) -> Subject | None:
        incident = await by_ref(session, ref)
        return await subject(session, incident) if incident else None

    viewers = NOT_PRIVATE | PARTICIPANTS | ADMINS | CHANNEL_MEMBERS
    return RecordPolicy(
        INCIDENT,
        load,
        see=viewers,
        verbs={ACT: viewers, SEND: viewers},
        missing="There is no incident {ref}.",
    )


async def subject(session: AsyncSession, incident: Incident) -> Subject:
    """The facts access needs: its channel, privacy and participants (one query)."""
    held = await session.scalars(
        select(RoleAssignment.user_id).where(RoleAssignment.incident_id == incident.id)
    )
    return Subject(
        INCIDENT,
        number_ref(incident.number),
        f"incident #{incident.number}",
        channel=incident.channel_id,
        private=incident.private,
        # The reporter and everyone who ever held a role.
        participants=frozenset({incident.reporter_id, *held}),
    )


# ------------------------------------------------------------------ lookups and rights


def number_ref(number: int) -> str:
    """The policy ref of the incident people call #`number` in the current workspace."""
    return f"#{number}"


async def by_ref(session: AsyncSession, ref: str) -> Incident | None:
    """The incident a policy ref names: `#N` by its number, plain digits by its primary key."""
    if ref.startswith("#"):
        number = record_id(ref[1:])
        return await by_number(session, number) if number is not None else None
    key = record_id(ref)
    return await session.get(Incident, key) if key is not None else None


async def by_number(session: AsyncSession, number: int) -> Incident | None:
    """The incident people call #`number`: numbers are counted within a workspace, so this
    is the current one's (another's incident seen here through a shared channel has a number
    of its own workspace's counting, and is named by its channel or its buttons)."""
    query = select(Incident).where(Incident.number == number)
    workspace = workspaces.current()
    if workspace is not None:
        query = query.where(Incident.team_id.in_(workspaces.visible_teams(workspace)))
    return await session.scalar(query.order_by(Incident.id).limit(1))


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


async def is_lead(session: AsyncSession, opts: Options, incident: Incident, user: str) -> bool:
    """Commander (the configured lead role), reporter or admin: who may resolve and reassign
    held roles. The one definition: the policy's `ACT` lets anyone who may see it do the rest."""
    if user in opts.admins or user == incident.reporter_id:
        return True
    return (await holders(session, incident.id)).get(opts.lead_role) == user


def command_number(request: Request, here: Incident | None) -> int | None:
    """The incident number a subcommand names, or None to mean the channel's own incident."""
    number = request.explicit_number
    takes_bare = here is None or request.sub not in FREE_TEXT
    if number is None and request.bare_number is not None and takes_bare:
        number = request.bare_number
    return number


async def target(
    session: AsyncSession, request: Request, channel_id: str | None
) -> tuple[Incident, str]:
    """The incident a subcommand acts on, and its free text once the number is taken off.

    Whether the person may see and change it was decided by the access policy at the gate.
    """
    here = await for_channel(session, channel_id)
    number = command_number(request, here)
    if number is None:
        if here is None:
            raise UsageError(
                "Outside an incident channel, say which incident: "
                f"`/incident {request.sub} 42 ...`."
            )
        return here, request.text_with_number
    incident = await by_number(session, number)
    if incident is None:
        raise UsageError(f"There is no incident #{number}.")
    return incident, request.text


def require_open(incident: Incident) -> None:
    if incident.resolved_at is not None:
        raise IncidentError(f"Incident #{incident.number} is already resolved.")
