"""The incident card's "Send a follow-up to an agent" menu: who may use it (the gate's targets:
the incident's `SEND` verb and the agents' `START`), and the choice -> `service.handoffs` -> an
ephemeral answer. A refusal, by the gate or by the rules, writes nothing."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from slack_bolt.context.ack.async_ack import AsyncAck
from slack_bolt.context.respond.async_respond import AsyncRespond
from sqlalchemy.ext.asyncio import AsyncSession

from bot.agents import service as agents
from bot.core.commands import UsageError
from bot.core.db import transaction
from bot.core.gate import Incoming, Target
from bot.core.projector import redraw
from bot.incidents.handlers.commands import sent_text
from bot.incidents.models import Incident
from bot.incidents.service import handoffs, kinds
from bot.incidents.service.access import INCIDENT, SEND, IncidentError
from bot.incidents.views.agents import SEND_FOLLOWUP

if TYPE_CHECKING:
    from bot.feature import FeatureContext

STARTS_AGENTS = Target(agents.AGENTS, agents.AGENTS_REF, agents.START)


def menu_choice(action: dict[str, Any]) -> tuple[int, int] | None:
    """(incident id, follow-up id) the menu carries; None for anything our menu would not
    send. The gate's targets and the listener read it with this one function."""
    option = action.get("selected_option") or {}
    incident, _, followup = str(option.get("value") or "").partition(":")
    if not all(
        part.isascii() and part.isdigit() and len(part) < 12 for part in (incident, followup)
    ):
        return None
    return int(incident), int(followup)


async def _targets(session: AsyncSession, incoming: Incoming) -> list[Target]:
    chosen = menu_choice(incoming.action)
    # An unreadable value still names a record, which does not exist: the gate refuses it.
    ref = str(chosen[0]) if chosen else ""
    return [Target(INCIDENT, ref, SEND), STARTS_AGENTS]


def register_followups(rt: FeatureContext) -> None:
    @rt.gate.action(SEND_FOLLOWUP, _targets)
    async def send_followup(
        ack: AsyncAck, body: dict[str, Any], action: dict[str, Any], respond: AsyncRespond
    ) -> None:
        await ack()
        chosen = menu_choice(action)
        if chosen is None:
            return  # the gate refused it already
        text = await _send(rt, *chosen, user=str(body["user"]["id"]))
        await respond(text=text, response_type="ephemeral", replace_original=False)


async def _send(rt: FeatureContext, incident_id: int, followup_id: int, user: str) -> str:
    try:
        async with transaction(rt.sessions) as session:
            incident = await session.get(Incident, incident_id)
            if incident is None:
                raise IncidentError("That incident no longer exists.")
            followup = await handoffs.followup_of(session, incident, followup_id)
            sent = await handoffs.send_to_agents(
                session, rt.settings, incident, followup, user=user
            )
            return sent_text(incident.number, sent)
    except (UsageError, IncidentError) as refusal:
        # Draw the card again though nothing changed: a refused choice must not stay selected.
        async with transaction(rt.sessions) as session:
            if await session.get(Incident, incident_id) is not None:
                await redraw(session, kinds.CARD, incident_id)
        return f":no_entry: {refusal}"
