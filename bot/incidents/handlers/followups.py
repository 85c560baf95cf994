"""The incident card's "Send a follow-up to an agent" menu: who may use it (the gate's targets:
the incident's `SEND` verb and the agents' `START`, for the menu and for its form alike), the
choice -> a form (repository, attempts, agent) -> `service.handoffs` -> an ephemeral answer. A
refusal, by the gate or by the rules, writes nothing."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from slack_bolt.context.ack.async_ack import AsyncAck
from slack_bolt.context.respond.async_respond import AsyncRespond
from sqlalchemy.ext.asyncio import AsyncSession

from bot.agents import service as agents
from bot.core.access import record_id
from bot.core.commands import UsageError
from bot.core.db import transaction
from bot.core.gate import Incoming, Target, incoming_of
from bot.core.projector import redraw
from bot.core.replies import open_modal, tell
from bot.incidents.handlers.commands import sent_text
from bot.incidents.models import Incident
from bot.incidents.service import handoffs, kinds
from bot.incidents.service.access import INCIDENT, SEND, IncidentError
from bot.incidents.views.agents import SEND_FOLLOWUP
from bot.incidents.views.followup_form import (
    CALLBACK,
    REPO,
    followup_form,
    form_ids,
    read_followup_form,
)

if TYPE_CHECKING:
    from bot.feature import FeatureContext

STARTS_AGENTS = Target(agents.AGENTS, agents.AGENTS_REF, agents.START)


def menu_choice(action: dict[str, Any]) -> tuple[int, int] | None:
    """(incident id, follow-up id) the menu carries; None for anything our menu would not
    send. The gate's targets and the listener read it with this one function."""
    option = action.get("selected_option") or {}
    incident, _, followup = str(option.get("value") or "").partition(":")
    ids = record_id(incident), record_id(followup)
    return (ids[0], ids[1]) if ids[0] is not None and ids[1] is not None else None


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
        refusal = await _open_form(rt, *chosen, trigger_id=str(body.get("trigger_id") or ""))
        if refusal:
            await respond(text=refusal, response_type="ephemeral", replace_original=False)

    @rt.gate.view(CALLBACK, _form_targets)
    async def form_submitted(ack: AsyncAck, body: dict[str, Any], view: dict[str, Any]) -> None:
        ids = form_ids(incoming_of(body).metadata())
        if ids is None:
            await ack()
            return
        answer = await _send(rt, *ids, view=view, user=str(body["user"]["id"]))
        if isinstance(answer, dict):
            await ack(response_action="errors", errors=answer)
            return
        await ack()
        channel, text = answer
        await tell(rt.client, channel, str(body["user"]["id"]), text)


async def _form_targets(session: AsyncSession, incoming: Incoming) -> list[Target]:
    ids = form_ids(incoming.metadata())
    return [Target(INCIDENT, str(ids[0]) if ids else "", SEND), STARTS_AGENTS]


async def _open_form(
    rt: FeatureContext, incident_id: int, followup_id: int, *, trigger_id: str
) -> str | None:
    """Open the form for sending the follow-up; the refusal to show instead, if any."""
    try:
        async with rt.sessions() as session:
            incident = await _incident(session, incident_id)
            followup = await handoffs.followup_of(session, incident, followup_id)
            choices = handoffs.send_choices(rt.settings, incident, followup)
    except (UsageError, IncidentError) as refusal:
        await _redraw(rt, incident_id)
        return f":no_entry: {refusal}"
    form = followup_form(incident_id, followup_id, followup.text, choices)
    if not await open_modal(rt.client, trigger_id, form):
        return (
            ":warning: I could not open the form; send it with "
            f"`/incident followup #{incident.number} <text> agent`."
        )
    await _redraw(rt, incident_id)  # the menu's choice must not stay selected
    return None


async def _send(
    rt: FeatureContext, incident_id: int, followup_id: int, *, view: dict[str, Any], user: str
) -> tuple[str, str] | dict[str, str]:
    """Send the follow-up as the form asks: (channel, what the sender is told), or the form's
    errors. A refusal writes nothing."""
    try:
        async with transaction(rt.sessions) as session:
            incident = await _incident(session, incident_id)
            followup = await handoffs.followup_of(session, incident, followup_id)
            choices = handoffs.send_choices(rt.settings, incident, followup)
            chosen, errors = read_followup_form(view, choices)
            if chosen is None:
                return errors
            sent = await handoffs.send_to_agents(
                session,
                rt.settings,
                incident,
                followup,
                user=user,
                repo=chosen.repo,
                attempts=chosen.attempts,
                backend=chosen.backend,
            )
            return sent.channel, sent_text(incident.number, sent)
    except (UsageError, IncidentError) as refusal:
        return {REPO: f"{refusal}"[:150]}


async def _incident(session: AsyncSession, incident_id: int) -> Incident:
    incident = await session.get(Incident, incident_id)
    if incident is None:
        raise IncidentError("That incident no longer exists.")
    return incident


async def _redraw(rt: FeatureContext, incident_id: int) -> None:
    async with transaction(rt.sessions) as session:
        if await session.get(Incident, incident_id) is not None:
            await redraw(session, kinds.CARD, incident_id)
