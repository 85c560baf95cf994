"""Slack listeners of the code red feature: thin wiring from Slack to the service.

The `/codered` listener carries out each subcommand (`run`) with the service; the command's
parsing is in `bot.codered.service.commands`.
"""

from __future__ import annotations

import datetime as dt
import logging
from typing import TYPE_CHECKING, Any

from slack_bolt.context.ack.async_ack import AsyncAck
from slack_bolt.context.respond.async_respond import AsyncRespond
from slack_sdk.errors import SlackApiError
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from bot.codered import service, views
from bot.codered.models import CodeRed, CodeRedEvent
from bot.codered.service import access, cards, commands, loans
from bot.codered.service.options import (
    ANNOUNCE_VIEW,
    EMOJI,
    HEADER_VIEW,
    NOTICE_VIEW,
    RETRO_VIEW,
    TASK_INVITE,
    TASK_OPEN_CHANNEL,
    Options,
)
from bot.codered.service.timeline import CodeRedError, local_today
from bot.codered.service.watching import WATCHES, split_copy
from bot.codered.views.modals import (
    DECLARE_CALLBACK,
    declare_modal,
    declared_view,
    read_declare_form,
)
from bot.codered.workflows.jobs import CodeRedJobs
from bot.codered.workflows.tick import tick
from bot.core import workspaces
from bot.core.access import record_id
from bot.core.commands import UsageError, wants_help
from bot.core.dates import parse_day
from bot.core.db import transaction, utcnow
from bot.core.gate import Incoming, Target, one
from bot.core.scheduler import JobSpec
from bot.core.security import inert
from bot.core.settings import per_workspace

if TYPE_CHECKING:
    from bot.feature import FeatureContext

log = logging.getLogger(__name__)
TICK_JOB = "codered.tick"
ALREADY = "A code red is already in progress; see `/codered status`."


def register(rt: FeatureContext) -> None:
    """Wire the feature into the runtime (listeners, routes, tasks, views, jobs, usage)."""
    # As each workspace sees them: its `workspaces:` overrides (declarers, levels).
    opts = per_workspace(lambda: Options.from_settings(rt.settings))
    rt.policy.register(access.record_policy(opts))
    rt.commands.add(commands.USAGE)
    _register_views(rt, opts)
    _register_work(rt, opts)
    _register_command(rt, opts)
    _register_interactions(rt, opts)


def _register_views(rt: FeatureContext, opts: Options) -> None:
    async def header(session: AsyncSession, record_id: str) -> Any:
        """The war room's header, or (`id@team`) its copy in the war room of a workspace the
        code red spans: drawn from the code red's own workspace."""
        codered_id, elsewhere = split_copy(record_id)
        if elsewhere is None:
            return await cards.header_state(session, codered_id)
        home = await cards.home_of(session, CodeRed, codered_id)
        with workspaces.within(home):
            return await cards.header_state(session, codered_id, room_of=elsewhere)

    async def announcement(session: AsyncSession, record_id: str) -> Any:
        """An announcement, in the code red's workspace or (`id@team`) in one it spans: drawn
        from the code red's own workspace, posted in the announce channel of the view's."""
        event_id, elsewhere = split_copy(record_id)
        channel = opts.announce_channel  # the view's workspace's, by its override
        if elsewhere is None:
            return await cards.announce_state(session, opts, event_id, channel)
        home = await cards.home_of(session, CodeRedEvent, event_id)
        with workspaces.within(home):
            return await cards.announce_state(session, opts, event_id, channel, elsewhere)

    async def retro(session: AsyncSession, record_id: str) -> Any:
        return await cards.retro_state(session, int(record_id))

    async def notice(session: AsyncSession, record_id: str) -> Any:
        return await cards.notice_state(session, int(record_id))

    project = rt.projector.register
    project(HEADER_VIEW, header, views.header, watches=WATCHES[HEADER_VIEW])
    project(ANNOUNCE_VIEW, announcement, views.announcement, watches=WATCHES[ANNOUNCE_VIEW])
    project(RETRO_VIEW, retro, views.retro, watches=WATCHES[RETRO_VIEW])
    project(NOTICE_VIEW, notice, views.notice, watches=WATCHES[NOTICE_VIEW])


def _register_work(rt: FeatureContext, opts: Options) -> None:
    jobs = CodeRedJobs(rt.sessions, rt.client)
    rt.tasks.register(TASK_OPEN_CHANNEL, jobs.open_channel)
    rt.tasks.register(TASK_INVITE, jobs.invite)

    async def run_tick() -> None:
        async with transaction(rt.sessions) as session:
            await tick(session, opts, utcnow())

    rt.scheduler.register(
        JobSpec(
            name=TICK_JOB,
            func=run_tick,
            description="code red: loans ending, call reminders, level reconfirmation, header",
            every_seconds=60,
        )
    )


async def command_targets(session: AsyncSession, incoming: Incoming) -> list[Target]:
    """`declare` needs a declarer; every change needs the lead of the code red in progress."""
    try:
        parsed = commands.parse(incoming.text)
    except UsageError:
        return []
    if parsed.verb == "declare":
        return [Target(access.CODERED, access.NEW, access.DECLARE)]
    if parsed.verb == "status":
        return []
    return [Target(access.CODERED, access.ACTIVE, access.CHANGE)]


def _notice_number(action: dict[str, Any]) -> int | None:
    """The notice a Keep / Step down button carries (the gate and the listener read it alike)."""
    return record_id(action.get("value"))


async def reconfirm_targets(session: AsyncSession, incoming: Incoming) -> list[Target]:
    notice = _notice_number(incoming.action)
    codered = await access.notice_codered(session, notice) if notice is not None else None
    return [Target(access.CODERED, str(codered or ""), access.CHANGE)]


def _register_command(rt: FeatureContext, opts: Options) -> None:
    @rt.gate.command("/codered", command_targets)
    async def codered_command(ack: AsyncAck, command: dict[str, Any]) -> None:
        text, user = str(command.get("text") or ""), str(command.get("user_id"))
        if wants_help(text):
            await ack(text=commands.USAGE.text())
            return
        try:
            parsed = commands.parse(text)
            if parsed.verb == "declare":
                await _open_declare(rt, ack, command)
                return
            async with transaction(rt.sessions) as session:
                answer = await run(session, opts, parsed, user)
        except UsageError as problem:
            await ack(text=commands.USAGE.problem(str(problem)))
            return
        except CodeRedError as refusal:
            await ack(text=f":no_entry: {refusal}")
            return
        await ack(text=answer)


async def run(
    session: AsyncSession,
    opts: Options,
    parsed: commands.Parsed,
    actor: str,
    now: dt.datetime | None = None,
) -> str:
    """Carry out a subcommand other than `declare` (which opens the modal)."""
    now = now or utcnow()
    codered = await service.require_active(session)
    if parsed.verb == "status":
        return await status_text(session, codered)
    # Whether `actor` may change it was decided by the access policy at the gate.
    if parsed.verb == "level":
        assert parsed.level is not None
        await service.change_level(session, opts, codered, parsed.level, parsed.text, actor, now)
        return f"{EMOJI[parsed.level]} The code red is now {parsed.level}."
    if parsed.verb == "loan":
        assert parsed.user is not None
        until = None
        if parsed.until:
            try:
                until = parse_day(parsed.until, await local_today(session, parsed.user, now))
            except ValueError as problem:
                raise UsageError(str(problem)) from None
        row = await loans.loan(session, codered, parsed.user, until, actor, now)
        end = f"until {row.until_date:%a %d %b}" if row.until_date else "until the code red ends"
        return f"<@{parsed.user}> is on loan to the code red {end}."
    if parsed.verb == "return":
        assert parsed.user is not None
        await loans.return_loan(session, codered, parsed.user, actor, now)
        return f"<@{parsed.user}>'s loan has ended."
    if parsed.verb == "pause":
        await loans.pause(session, codered, parsed.text, parsed.user, actor, now)
        return f"Paused for the code red: {inert(parsed.text, 200)}."
    await service.resolve(session, codered, parsed.text, actor, now)
    return ":white_check_mark: The code red is resolved. The retro is in the war room."


async def status_text(session: AsyncSession, codered: CodeRed) -> str:
    room = f" War room <#{codered.channel_id}>." if codered.channel_id else ""
    people = await service.active_loans(session, codered.id)
    loaned = ", ".join(f"<@{row.user_id}>" for row in people) or "nobody"
    return (
        f"{EMOJI[codered.level]} *Code {codered.level}: {inert(codered.focus, 150)}*. "
        f"Owner <@{codered.owner_id}>.{room} On loan: {loaned}."
    )


async def _open_declare(rt: FeatureContext, ack: AsyncAck, command: dict[str, Any]) -> None:
    user = str(command.get("user_id"))  # a declarer: the gate checked `access.DECLARE`
    async with rt.sessions() as session:
        if await service.active_row(session) is not None:
            raise CodeRedError(ALREADY)
    try:
        await rt.client.views_open(trigger_id=command.get("trigger_id"), view=declare_modal(user))
    except SlackApiError as error:
        log.warning("codered: views.open failed: %s", error.response.get("error"))
        await ack(text="I could not open the declare form; please try again.")
        return
    await ack()


def _register_interactions(rt: FeatureContext, opts: Options) -> None:
    @rt.gate.view(DECLARE_CALLBACK, one(access.CODERED, access.DECLARE, access.NEW))
    async def declare_submitted(ack: AsyncAck, body: dict[str, Any], view: dict[str, Any]) -> None:
        user = str(body["user"]["id"])
        form, errors = read_declare_form(view)
        errors = {**service.form_problems(form), **errors}
        if errors:
            await ack(response_action="errors", errors=errors)
            return
        try:
            async with transaction(rt.sessions) as session:
                await service.declare(session, opts, form, user)
        except CodeRedError as refusal:
            await ack(response_action="errors", errors={"focus": str(refusal)})
            return
        except IntegrityError:
            await ack(response_action="errors", errors={"focus": ALREADY})
            return
        await ack(response_action="update", view=declared_view(form.focus, opts.announce_channel))

    async def reconfirm(
        ack: AsyncAck, body: dict[str, Any], action: dict[str, Any], respond: AsyncRespond
    ) -> None:
        await ack()
        keep = action["action_id"] == views.KEEP_ACTION
        notice, user = _notice_number(action), str(body["user"]["id"])
        try:
            if notice is None:
                raise CodeRedError("That question is no longer open.")
            async with transaction(rt.sessions) as session:
                await service.answer_reconfirm(session, opts, notice, keep, user)
        except CodeRedError as refusal:
            await respond(text=f":no_entry: {refusal}", response_type="ephemeral")

    rt.gate.action(views.KEEP_ACTION, reconfirm_targets)(reconfirm)
    rt.gate.action(views.STEP_DOWN_ACTION, reconfirm_targets)(reconfirm)
