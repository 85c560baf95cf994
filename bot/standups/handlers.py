"""Slack listeners of the standups feature: thin wiring from Slack to the service.

The `/standup` listener carries out each subcommand (`run`) with the service and answers with
the views' text; the command's parsing is in `bot.standups.service.commands`.
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from slack_bolt.context.ack.async_ack import AsyncAck
from slack_bolt.context.respond.async_respond import AsyncRespond
from slack_sdk.errors import SlackApiError
from sqlalchemy.ext.asyncio import AsyncSession

from bot.core.access import CHANNEL, POST, SEE, Audience, Policy, Subject, record_id
from bot.core.channels import slack_error_code
from bot.core.commands import UsageError, wants_help
from bot.core.db import transaction, utcnow
from bot.core.gate import Incoming, Target, one
from bot.core.projector import Loader, View
from bot.core.scheduler import JobSpec
from bot.standups import service, views
from bot.standups.models import Standup
from bot.standups.service import access, cards, commands, queries, schedule, watching
from bot.standups.settings import SECTION as STANDUPS
from bot.standups.views.modals import (
    ANSWER_CALLBACK,
    CREATE_CALLBACK,
    FormDefaults,
    GroupChoice,
    answer_modal,
    done_view,
    read_answers,
    read_standup_form,
    standup_modal,
)
from bot.standups.workflows.jobs import StandupJobs, group_members
from bot.standups.workflows.tick import tick

if TYPE_CHECKING:
    from bot.feature import FeatureContext

log = logging.getLogger(__name__)
TICK_JOB = "standups.tick"
STATS_DAYS = 30


def register(rt: FeatureContext) -> None:
    """Wire the feature into the runtime (listeners, routes, tasks, views, jobs, usage)."""
    for policy in access.record_policies():
        rt.policy.register(policy)
    rt.commands.add(commands.USAGE)
    _register_views(rt)
    _register_work(rt)
    _register_command(rt)
    _register_modals(rt)

    @rt.gate.action(service.WRITE_ACTION, one(access.PROMPT, access.ANSWER, _button_run))
    async def write_clicked(
        ack: AsyncAck, body: dict[str, Any], action: dict[str, Any], respond: AsyncRespond
    ) -> None:
        await ack()
        user = str(body["user"]["id"])
        run = record_id(action.get("value"))
        try:
            if run is None:
                raise service.StandupError("This standup was not sent to you.")
            async with rt.sessions() as session:
                form = await service.answer_form(session, run, user)
        except service.StandupError as refusal:
            await respond(text=f":no_entry: {refusal}", response_type="ephemeral")
            return
        await rt.client.views_open(trigger_id=body["trigger_id"], view=answer_modal(form))


def _button_run(incoming: Incoming) -> str:
    """The run a Write button carries, as the gate checks it (the listener reads the same)."""
    return str(incoming.action.get("value") or "")


def _answer_run(incoming: Incoming) -> str:
    """The run an answer form is for, read as the listener reads it."""
    run, _ = read_answers(incoming.view)
    return str(run) if run is not None else ""


async def command_targets(session: AsyncSession, incoming: Incoming) -> list[Target]:
    """The standup a subcommand changes, and the channel a new one would post to.

    A name is resolved here exactly as the command resolves it, so the gate checks the very
    standup the command then acts on.
    """
    try:
        parsed = commands.parse(incoming.text, utcnow().date())
    except UsageError:
        return []
    if isinstance(parsed, commands.CreateText) and parsed.spec.channel:
        return [Target(CHANNEL, parsed.spec.channel, POST)]
    if isinstance(parsed, commands.Simple) and parsed.verb in commands.NAMED:
        standup = await service.find(session, parsed.name)
        verb = SEE if parsed.verb == "stats" else access.MANAGE
        return [Target(access.STANDUP, str(standup.id) if standup else "", verb)]
    return []


async def form_targets(session: AsyncSession, incoming: Incoming) -> list[Target]:
    form = read_standup_form(incoming.view)
    found = []
    if form.standup_id is not None:
        found.append(Target(access.STANDUP, str(form.standup_id), access.MANAGE))
    if form.spec.channel:
        found.append(Target(CHANNEL, form.spec.channel, POST))
    return found


def _register_views(rt: FeatureContext) -> None:
    async def load_prompt(session: AsyncSession, record_id: str) -> Any:
        return await cards.prompt_state(session, int(record_id))

    async def load_digest(session: AsyncSession, record_id: str) -> Any:
        return await cards.digest_state(session, int(record_id))

    def project(kind: str, load: Loader, view: View) -> None:
        rt.projector.register(kind, load, view, watches=watching.VIEWS[kind])

    project(service.PROMPT_VIEW, load_prompt, views.prompt)
    project(service.REMINDER_VIEW, load_prompt, views.reminder)
    project(service.DIGEST_VIEW, load_digest, views.digest)


def _register_work(rt: FeatureContext) -> None:
    jobs = StandupJobs(rt.sessions, rt.client)
    rt.tasks.register(service.TASK_FETCH_TZ, jobs.fetch_tz)
    rt.tasks.register(service.TASK_SYNC_GROUP, jobs.sync_group)
    rt.tasks.register(service.TASK_JOIN, jobs.join_channel)

    async def run_tick() -> None:
        # The workspace's own holidays and refresh, as it runs within each.
        holidays = schedule.holiday_set(rt.settings.section(STANDUPS).holidays)
        refresh = dt.timedelta(hours=rt.settings.section(STANDUPS).timezone_refresh_hours)
        async with transaction(rt.sessions) as session:
            await tick(session, utcnow(), holidays=holidays, tz_refresh=refresh)

    rt.scheduler.register(
        JobSpec(
            name=TICK_JOB,
            func=run_tick,
            description="send standup prompts, reminders and cutoffs that are due",
            every_seconds=60,
        )
    )


async def _today_for(rt: FeatureContext, user: str) -> dt.date:
    async with rt.sessions() as session:
        zone = schedule.zone(await service.user_timezone(session, user))
    return utcnow().astimezone(zone).date() if zone else utcnow().date()


def _register_command(rt: FeatureContext) -> None:
    @rt.gate.command("/standup", command_targets)
    async def standup_command(ack: AsyncAck, command: dict[str, Any]) -> None:
        text, user = str(command.get("text") or ""), str(command.get("user_id"))
        if wants_help(text):
            await ack(text=commands.USAGE.text())
            return
        try:
            parsed = commands.parse(text, await _today_for(rt, user))
            if isinstance(parsed, commands.Simple) and parsed.verb in ("form", "edit"):
                await _open_form(rt, ack, command, parsed)
                return
            if isinstance(parsed, commands.CreateText) and parsed.group:
                parsed.spec.group_members = await _members_or_problem(rt, parsed.group)
            async with transaction(rt.sessions) as session:
                answer = await run(session, parsed, user, rt.policy)
        except UsageError as problem:
            await ack(text=commands.USAGE.problem(str(problem)))
            return
        except service.StandupError as refusal:
            await ack(text=f":no_entry: {refusal}")
            return
        await ack(text=answer.text)


async def _visible(session: AsyncSession, policy: Policy, user: str) -> list[Any]:
    """The standups `user` may see: private channels' ones only for their members."""

    async def subject_of(item: Any) -> Subject | None:
        return await policy.subject(session, service.STANDUP, str(item.id))

    return await policy.visible(Audience.person(user), await queries.summaries(session), subject_of)


@dataclass
class Answer:
    text: str


async def run(
    session: AsyncSession,
    parsed: commands.Parsed,
    user: str,
    policy: Policy,
    now: dt.datetime | None = None,
) -> Answer:
    """Carry out a parsed subcommand (all but `form` and `edit`, which open modals)."""
    now = now or utcnow()
    if isinstance(parsed, commands.CreateText):
        commands.check_spec(parsed.spec)
        standup = await service.create(session, parsed.spec, user, now=now)
        item = await queries.summary(session, standup)
        return Answer(f":white_check_mark: Standup created.\n{views.summary_line(item)}")
    if isinstance(parsed, commands.Skip):
        await service.skip_days(session, user, parsed.days)
        shown = ", ".join(views.day_text(day) for day in parsed.days[:10])
        more = f" and {len(parsed.days) - 10} more" if len(parsed.days) > 10 else ""
        return Answer(f":palm_tree: No standup prompts for you on {shown}{more}.")
    if parsed.verb == "list":
        return Answer(views.list_text(await _visible(session, policy, user)))
    standup = await service.require(session, parsed.name)
    if parsed.verb == "stats":
        until = now.date()
        rows = await queries.participation(
            session, standup.id, until - dt.timedelta(days=STATS_DAYS - 1), until
        )
        return Answer(views.stats_text(standup.name, STATS_DAYS, rows))
    service.check_editable(standup)
    await service.set_paused(session, standup, parsed.verb == "pause")
    state = "paused: no prompts until resumed" if parsed.verb == "pause" else "running again"
    return Answer(f"“{standup.name}” is {state}.")


async def _members_or_problem(rt: FeatureContext, group: str) -> list[str]:
    try:
        return await group_members(rt.client, group)
    except SlackApiError as error:
        raise UsageError(f"I could not read that user group ({slack_error_code(error)}).") from None


async def _groups(rt: FeatureContext) -> list[GroupChoice]:
    """User groups for the form; none when the workspace or our scopes do not allow it."""
    try:
        response = await rt.client.usergroups_list(include_users=True)
    except SlackApiError as error:
        log.info("standups: no user groups for the form: %s", slack_error_code(error))
        return []
    return [
        GroupChoice(str(g["id"]), str(g.get("handle") or g["id"]), len(g.get("users") or []))
        for g in response.get("usergroups") or []
    ]


async def _open_form(
    rt: FeatureContext, ack: AsyncAck, command: dict[str, Any], parsed: commands.Simple
) -> None:
    user = str(command.get("user_id"))
    defaults = FormDefaults(channel=command.get("channel_id"), users=[user])
    if parsed.verb == "edit":
        async with rt.sessions() as session:
            standup = await service.require(session, parsed.name)
            service.check_editable(standup)
            people = await service.participants(session, standup.id, source="user")
        defaults = FormDefaults(
            standup_id=standup.id,
            name=standup.name,
            channel=standup.channel,
            users=people,
            usergroup=standup.usergroup,
            questions=list(standup.questions),
            days=schedule.days_from_column(standup.days),
            minute_of_day=standup.minute_of_day,
            fixed_tz=standup.fixed_tz,
            reminder_minutes=standup.reminder_minutes,
            cutoff_minutes=standup.cutoff_minutes,
        )
    modal = standup_modal(defaults, await _groups(rt))
    try:
        await rt.client.views_open(trigger_id=command.get("trigger_id"), view=modal)
    except SlackApiError as error:
        log.warning("standups: views.open failed: %s", slack_error_code(error))
        await ack(text="I could not open the form. " + commands.USAGE.text())
        return
    await ack()


def _register_modals(rt: FeatureContext) -> None:
    @rt.gate.view(CREATE_CALLBACK, form_targets)
    async def standup_submitted(ack: AsyncAck, body: dict[str, Any], view: dict[str, Any]) -> None:
        user = str(body["user"]["id"])
        form = read_standup_form(view)
        errors = dict(form.errors)
        if form.spec.usergroup:
            try:
                form.spec.group_members = await group_members(rt.client, form.spec.usergroup)
            except SlackApiError as error:
                errors["group"] = f"I could not read that group ({slack_error_code(error)})."
        errors = {**service.spec_problems(form.spec), **errors}
        if errors:
            await ack(response_action="errors", errors=errors)
            return
        try:
            async with transaction(rt.sessions) as session:
                if form.standup_id is None:
                    standup = await service.create(session, form.spec, user)
                else:
                    found = await session.get(Standup, int(form.standup_id))
                    if found is None or found.archived:
                        raise service.StandupError("That standup no longer exists.")
                    service.check_editable(found)
                    await service.update_spec(session, found, form.spec)
                    standup = found
                line = views.summary_line(await queries.summary(session, standup))
        except service.StandupError as refusal:
            await ack(response_action="errors", errors={"name": str(refusal)})
            return
        title = "Standup saved" if form.standup_id else "Standup created"
        await ack(response_action="update", view=done_view(title, line))

    @rt.gate.view(ANSWER_CALLBACK, one(access.PROMPT, access.ANSWER, _answer_run))
    async def answers_submitted(ack: AsyncAck, body: dict[str, Any], view: dict[str, Any]) -> None:
        run_id, answers = read_answers(view)
        if run_id is None or not any(answer.strip() for answer in answers):
            await ack(response_action="errors", errors={"q0": "Write at least one answer."})
            return
        try:
            async with transaction(rt.sessions) as session:
                await service.submit_answer(session, run_id, str(body["user"]["id"]), answers)
        except service.StandupError as refusal:
            await ack(response_action="errors", errors={"q0": str(refusal)})
            return
        await ack()
