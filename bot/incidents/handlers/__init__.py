"""Slack listeners of the incidents feature: thin wiring from Slack to the service.

`commands` answers `/incident <subcommand>`; `events` turns reactions and pins into timeline
entries.
"""

from __future__ import annotations

import logging
import re
from typing import TYPE_CHECKING, Any

from slack_bolt.context.ack.async_ack import AsyncAck
from slack_sdk.errors import SlackApiError
from sqlalchemy.ext.asyncio import AsyncSession

from bot.core.access import record_id
from bot.core.commands import UsageError, wants_help
from bot.core.db import transaction
from bot.core.gate import Incoming, Target, Targets, no_record, one
from bot.core.projector import redraw
from bot.core.replies import tell
from bot.core.scheduler import JobSpec
from bot.core.settings import per_workspace
from bot.incidents import service, views
from bot.incidents.handlers import commands
from bot.incidents.handlers.events import register_events
from bot.incidents.handlers.followups import STARTS_AGENTS, register_followups
from bot.incidents.models import Incident
from bot.incidents.service import access, kinds, queries, reminders
from bot.incidents.service.access import ACT, INCIDENT, SEND, IncidentError
from bot.incidents.service.parsing import parse
from bot.incidents.service.state import Options
from bot.incidents.service.watching import WATCHES
from bot.incidents.views import agents as agent_views
from bot.incidents.views.modals import (
    DECLARE_CALLBACK,
    USAGE,
    declare_modal,
    declared_view,
    read_declare_form,
)
from bot.incidents.workflows import IncidentJobs

if TYPE_CHECKING:
    from bot.feature import FeatureContext

log = logging.getLogger(__name__)


def register(rt: FeatureContext) -> None:
    """Wire the feature into the runtime (listeners, routes, tasks, views, jobs, usage)."""
    # As each workspace sees them: its `workspaces:` overrides (severities, announce channel).
    opts = per_workspace(lambda: Options.from_settings(rt.settings))
    rt.policy.register(access.record_policy())
    rt.commands.add(USAGE)
    _register_views(rt, opts)
    _register_jobs(rt, opts)
    _register_command(rt, opts)
    _register_modal(rt, opts)
    _register_actions(rt, opts)
    register_events(rt, opts)
    register_followups(rt)


def _register_views(rt: FeatureContext, opts: Options) -> None:
    project = rt.projector.register

    async def card(session: Any, record_id: str) -> Any:
        return await queries.incident_state(session, opts, int(record_id))

    async def update(session: Any, record_id: str) -> Any:
        return await queries.update_state(session, opts, int(record_id), in_thread=False)

    async def update_thread(session: Any, record_id: str) -> Any:
        return await queries.update_state(session, opts, int(record_id), in_thread=True)

    async def role_dm(session: Any, record_id: str) -> Any:
        return await queries.role_dm_state(session, opts, int(record_id))

    async def reminder(session: Any, record_id: str) -> Any:
        return await queries.reminder_state(session, opts, int(record_id))

    project(kinds.CARD, card, views.incident_card, watches=WATCHES[kinds.CARD])
    project(kinds.ANNOUNCEMENT, card, views.announcement, watches=WATCHES[kinds.ANNOUNCEMENT])
    project(kinds.UPDATE_POST, update, views.update_post, watches=WATCHES[kinds.UPDATE_POST])
    project(
        kinds.UPDATE_THREAD, update_thread, views.update_post, watches=WATCHES[kinds.UPDATE_THREAD]
    )
    project(kinds.ROLE_DM, role_dm, views.role_dm, watches=WATCHES[kinds.ROLE_DM])
    project(kinds.REMINDER, reminder, views.reminder, watches=WATCHES[kinds.REMINDER])

    async def late_prs(session: Any, record_id: str) -> Any:
        return await queries.late_prs_state(session, int(record_id))

    project(kinds.LATE_PRS, late_prs, agent_views.late_prs, watches=WATCHES[kinds.LATE_PRS])


def _register_jobs(rt: FeatureContext, opts: Options) -> None:
    jobs = IncidentJobs(rt.sessions, rt.client, opts)
    rt.tasks.register(kinds.TASK_OPEN_CHANNEL, jobs.open_channel)
    rt.tasks.register(kinds.TASK_INVITE, jobs.invite)
    rt.tasks.register(kinds.TASK_TOPIC, jobs.update_topic)
    rt.tasks.register(kinds.TASK_POSTMORTEM, jobs.write_postmortem)

    async def sweep() -> None:
        await jobs.sweep_reminders()

    rt.scheduler.register(
        JobSpec(
            name="incidents.reminders",
            func=sweep,
            description="remind commanders whose incident is due a status update",
            every_seconds=60,
        )
    )


def command_targets(opts: Options) -> Targets:
    """The incident a `/incident` subcommand touches, found exactly as the command finds it."""

    async def targets(session: AsyncSession, incoming: Incoming) -> list[Target]:
        try:
            request = parse(incoming.text, opts.severities)
        except UsageError:
            return []  # the command answers with its usage and writes nothing
        if request.sub in ("declare", "list"):
            return []
        here = await access.for_channel(session, incoming.channel)
        number = access.command_number(request, here)
        if number is not None:  # as typed: the workspace's own #N
            ref = access.number_ref(number)
        elif here is None:
            return []  # outside an incident channel with no number: a usage answer
        else:
            ref = str(here.id)
        if request.sub == "followup" and request.to_agent:
            # Handing it to the coding agents also needs the right to start agent tasks.
            return [Target(INCIDENT, ref, SEND), STARTS_AGENTS]
        return [Target(INCIDENT, ref, ACT)]

    return targets


def _register_command(rt: FeatureContext, opts: Options) -> None:
    @rt.gate.command("/incident", command_targets(opts))
    async def incident_command(ack: AsyncAck, command: dict[str, Any]) -> None:
        text = str(command.get("text") or "")
        user, channel = str(command.get("user_id")), command.get("channel_id")
        if not text.strip():
            await _open_declare_modal(rt, opts, ack, command)
            return
        if wants_help(text):
            await ack(text=USAGE.text())
            return
        try:
            async with transaction(rt.sessions) as session:
                answer = await commands.run(
                    session, opts, rt.policy, text, user, channel, rt.settings
                )
        except UsageError as problem:
            await ack(text=USAGE.problem(str(problem)))
            return
        except IncidentError as refusal:
            await ack(text=f":no_entry: {refusal}")
            return
        await ack(text=answer.text, blocks=answer.blocks or None)


async def _open_declare_modal(
    rt: FeatureContext, opts: Options, ack: AsyncAck, command: dict[str, Any]
) -> None:
    """`/incident` alone opens the form, and (as every command does) answers with its usage."""
    modal = declare_modal(opts, str(command.get("user_id")))
    try:
        await rt.client.views_open(trigger_id=command.get("trigger_id"), view=modal)
        opened = "I opened the declare form for you."
    except SlackApiError as error:
        log.warning("incidents: views.open failed: %s", error.response.get("error"))
        opened = "I could not open the declare form; use `/incident declare <title> [severity]`."
    await ack(text=f"{opened}\n\n{USAGE.text()}")


def _register_modal(rt: FeatureContext, opts: Options) -> None:
    @rt.gate.view(DECLARE_CALLBACK, no_record)
    async def declare_submitted(ack: AsyncAck, body: dict[str, Any], view: dict[str, Any]) -> None:
        form, errors = read_declare_form(opts, view)
        if form is None:
            await ack(response_action="errors", errors=errors)
            return
        async with transaction(rt.sessions) as session:
            incident = await service.declare(
                session,
                opts,
                title=form.title,
                severity=form.severity,
                reporter=str(body["user"]["id"]),
                description=form.description,
                private=form.private,
                commander=form.commander,
            )
            done = declared_view(incident.number, incident.title, incident.private)
        await ack(response_action="update", view=done)


def _register_actions(rt: FeatureContext, opts: Options) -> None:
    async def act(body: dict[str, Any], number: str, change: Any) -> None:
        user = str(body["user"]["id"])
        channel = (body.get("channel") or {}).get("id")
        try:
            async with transaction(rt.sessions) as session:
                await change(session, user)
        except (UsageError, IncidentError) as refusal:
            # Send the card again though nothing changed: a refused menu choice must not stay
            # selected on screen.
            found = record_id(number)
            async with transaction(rt.sessions) as session:
                if found is not None and await session.get(Incident, found) is not None:
                    await redraw(session, kinds.CARD, found)
            if channel:
                await tell(rt.client, channel, user, f":no_entry: {refusal}")

    async def incident(session: AsyncSession, number: str) -> Incident:
        wanted = record_id(number)
        found = await session.get(Incident, wanted) if wanted is not None else None
        if found is None:  # deleted since the gate looked
            raise IncidentError("That incident no longer exists.")
        return found

    @rt.gate.action(
        re.compile(rf"^{re.escape(views.TAKE_ROLE)}\."),
        one(INCIDENT, ACT, lambda incoming: _role_number(incoming.action)),
    )
    async def take_role(ack: AsyncAck, body: dict[str, Any], action: dict[str, Any]) -> None:
        await ack()
        role = str(action["action_id"]).split(".", 2)[2]
        number = _role_number(action)

        async def change(session: Any, user: str) -> None:
            found = await incident(session, number)
            await service.assign_role(session, opts, found, role, user, user)

        await act(body, number, change)

    menu_target = one(INCIDENT, ACT, lambda incoming: _menu_choice(incoming.action)[0])

    @rt.gate.action(views.SET_SEVERITY, menu_target)
    @rt.gate.action(views.SET_STATUS, menu_target)
    async def set_menu(ack: AsyncAck, body: dict[str, Any], action: dict[str, Any]) -> None:
        await ack()
        number, value = _menu_choice(action)
        is_severity = action["action_id"] == views.SET_SEVERITY
        setter = service.set_severity if is_severity else service.set_status

        async def change(session: Any, user: str) -> None:
            await setter(session, opts, await incident(session, number), value, user)

        await act(body, number, change)

    @rt.gate.action(
        views.SNOOZE, one(INCIDENT, ACT, lambda incoming: _snooze_choice(incoming.action)[0])
    )
    async def snooze(ack: AsyncAck, body: dict[str, Any], action: dict[str, Any]) -> None:
        await ack()
        number, reminder = _snooze_choice(action)

        async def change(session: Any, user: str) -> None:
            found = await incident(session, number)
            reminder_id = record_id(reminder)
            if reminder_id is None:
                raise IncidentError("That reminder no longer exists.")
            minutes = reminders.SNOOZE_MINUTES
            await reminders.snooze(session, found, reminder_id, user, minutes)

        await act(body, number, change)


# What the card's controls carry, read by one function each for the gate and the listener, so
# the incident the gate checks is the one the listener changes.


def _role_number(action: dict[str, Any]) -> str:
    """A Take role button: the incident number."""
    return str(action.get("value") or "")


def _menu_choice(action: dict[str, Any]) -> tuple[str, str]:
    """A severity or status menu: (incident number, the chosen value)."""
    option = action.get("selected_option") or {}
    number, _, value = str(option.get("value") or "").partition(":")
    return number, value


def _snooze_choice(action: dict[str, Any]) -> tuple[str, str]:
    """A reminder's Snooze button: (incident number, reminder id)."""
    number, _, reminder = str(action.get("value") or "").partition(":")
    return number, reminder
