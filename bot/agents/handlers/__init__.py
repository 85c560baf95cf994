"""Slack listeners and routes of the agents feature: thin wiring from Slack to the service.

`register` wires the feature; the `/agent` command is in `commands`, the push route in `push`.
"""

from __future__ import annotations

import json
import logging
from typing import TYPE_CHECKING, Any

from slack_bolt.context.ack.async_ack import AsyncAck
from slack_bolt.context.respond.async_respond import AsyncRespond
from sqlalchemy.ext.asyncio import AsyncSession

from bot.agents import service, views
from bot.agents.backends import create_backend
from bot.agents.backends.base import BackendEnv
from bot.agents.handlers.commands import AgentCommand
from bot.agents.handlers.push import push_router
from bot.agents.models import AgentRequest
from bot.agents.service import choices, loaders, watching
from bot.agents.service.access import (
    AGENT_REQUEST,
    CONTROL,
    record_policy,
    request_of_task,
    starters_policy,
)
from bot.agents.settings import SECTION as AGENTS
from bot.agents.views import modals
from bot.agents.workflows.files import AttemptFiles
from bot.agents.workflows.intake import Intake, Origin
from bot.agents.workflows.prepare import Preparer
from bot.agents.workflows.pulls import PullRequests
from bot.agents.workflows.runner import AgentRunner
from bot.agents.workflows.slack_reads import Access
from bot.config import ConfigError
from bot.core.access import CHANNEL, SEE, record_id
from bot.core.commands import UsageError
from bot.core.db import transaction
from bot.core.gate import Incoming, Target, one
from bot.core.projector import Loader, View
from bot.core.replies import open_modal
from bot.core.scheduler import JobSpec

if TYPE_CHECKING:
    from bot.feature import FeatureContext

log = logging.getLogger(__name__)


def register(rt: FeatureContext) -> None:
    """Wire the feature into the runtime (listeners, routes, tasks, views, jobs, usage)."""
    _check_backends(rt)
    rt.policy.register(record_policy(lambda: rt.settings.here().admins))
    access = Access(rt.client, rt.settings)
    rt.policy.register(starters_policy(access.may_start))
    intake = Intake(rt, access)
    runner = AgentRunner(rt)
    rt.on_stop(runner.stop)
    rt.commands.add(modals.USAGE)
    _register_views(rt)
    _register_work(rt, runner, access)
    _register_events(rt, intake)
    _register_shortcut(rt, intake)
    _register_actions(rt)
    _register_repo_pick(rt, intake)
    AgentCommand(rt, intake).register()
    rt.routers.append(push_router(rt))


def _check_backends(rt: FeatureContext) -> None:
    """Each backend module checks its own settings; a bad one stops start-up with one line."""
    env = BackendEnv(agents=rt.settings.section(AGENTS), public_url=rt.settings.opsbot_public_url)
    for index, config in enumerate(rt.settings.section(AGENTS).backends):
        try:
            create_backend(config, env)
        except ValueError as problem:
            raise ConfigError(f"setting agents.backends.{index}: {problem}") from None


def _register_views(rt: FeatureContext) -> None:
    def project(kind: str, load: Loader, view: View) -> None:
        rt.projector.register(kind, load, view, watches=watching.VIEWS[kind])

    project(service.CARD, loaders.task_view, views.card)
    project(service.PARENT, loaders.parent_view, views.parent)
    project(service.QUESTION, loaders.question_view, views.question)
    project(service.RESULT, loaders.task_view, views.result)
    project(service.COMPARISON, loaders.comparison_view, views.comparison)


def _register_work(rt: FeatureContext, runner: AgentRunner, access: Access) -> None:
    rt.tasks.register(service.TASK_PREPARE, Preparer(rt, access))
    rt.tasks.register(service.TASK_DRIVE, runner.on_drive)
    rt.tasks.register(service.TASK_CANCEL, runner.on_cancel)
    rt.tasks.register(choices.TASK_OPEN_PR, PullRequests(rt))
    rt.tasks.register(service.TASK_FILES, AttemptFiles(rt))
    rt.scheduler.register(
        JobSpec(
            name="agents.recover",
            func=runner.recover,
            description="hand agent tasks whose replica stopped to a new drive",
            every_seconds=rt.settings.section(AGENTS).recover_seconds,
        )
    )


def _register_events(rt: FeatureContext, intake: Intake) -> None:
    def bot_user() -> str | None:
        # The inbox learns the bot's identity before it replays any event.
        return rt.identity.known.user_id if rt.identity.known else None

    async def app_mention(event: dict[str, Any], body: dict[str, Any]) -> None:
        await intake.on_mention(event, bot_user())

    async def thread_reply(event: dict[str, Any], body: dict[str, Any]) -> None:
        # Cheap checks first: most messages are not replies in a thread an agent waits on.
        if not event.get("thread_ts") or event.get("subtype") or event.get("bot_id"):
            return
        bot = bot_user()
        if bot and f"<@{bot}" in str(event.get("text") or ""):
            return  # a mention: app_mention handles it
        await intake.on_reply(event)

    rt.events.on("app_mention", app_mention)
    rt.events.on("message", thread_reply)


def _register_shortcut(rt: FeatureContext, intake: Intake) -> None:
    @rt.gate.shortcut(modals.SHORTCUT, one(CHANNEL, SEE, lambda i: i.channel))
    async def send_to_agent(ack: AsyncAck, body: dict[str, Any], respond: AsyncRespond) -> None:
        await ack()
        user = str(body["user"]["id"])
        channel = str((body.get("channel") or {}).get("id"))
        message = body.get("message") or {}
        if not await intake.access.may_start(user):
            await respond(
                text=":no_entry: You are not on the list of people who may start agent tasks.",
                response_type="ephemeral",
            )
            return
        metadata = {
            "channel": channel,
            "message_ts": message.get("ts"),
            "thread_ts": message.get("thread_ts") or message.get("ts"),
        }
        catalog = intake.catalog()
        modal = modals.send_modal(catalog, catalog.repos_by_channel.get(channel), metadata)
        if not await open_modal(rt.client, body["trigger_id"], modal):
            await respond(text="I could not open the form; mention me in the thread instead.")

    @rt.gate.view(
        modals.SEND_CALLBACK, one(CHANNEL, SEE, lambda i: str(i.metadata().get("channel") or ""))
    )
    async def send_submitted(ack: AsyncAck, body: dict[str, Any], view: dict[str, Any]) -> None:
        metadata = json.loads(view.get("private_metadata") or "{}")
        channel = str(metadata.get("channel") or "")
        spec, errors = modals.read_send_form(view, intake.catalog(), channel)
        if spec is None:
            await ack(response_action="errors", errors=errors)
            return
        origin = Origin(
            user=str(body["user"]["id"]),
            channel=channel,
            thread_ts=str(metadata.get("thread_ts")),
            message_ts=metadata.get("message_ts"),
            source="shortcut",
        )
        try:
            await intake.start(origin, spec.instruction, spec)
        except service.AgentError as refusal:
            await ack(response_action="errors", errors={"instruction": str(refusal)[:150]})
            return
        await ack()
        if origin.message_ts:
            await intake.react(channel, origin.message_ts)


def _register_repo_pick(rt: FeatureContext, intake: Intake) -> None:
    @rt.gate.action(views.PICK_REPO, one(CHANNEL, SEE, lambda i: i.channel))
    async def pick_repo(
        ack: AsyncAck, body: dict[str, Any], action: dict[str, Any], respond: AsyncRespond
    ) -> None:
        await ack()
        message = body.get("message") or {}
        block = str(action.get("block_id") or "")
        origin = Origin(
            user=str(body["user"]["id"]),
            channel=str((body.get("channel") or {}).get("id")),
            thread_ts=str(message.get("thread_ts") or message.get("ts")),
            message_ts=block.removeprefix(views.REPO_BLOCK),
            source="mention",
        )
        repo = str((action.get("selected_option") or {}).get("value") or "")
        try:
            started = await intake.picked_repo(origin, repo)
        except (service.AgentError, UsageError) as refusal:
            text = (
                f":no_entry: {refusal}"
                if isinstance(refusal, service.AgentError)
                else (modals.USAGE.problem(str(refusal)))
            )
            await respond(text=text, response_type="ephemeral", replace_original=False)
            return
        said = "the agent starts" if started else "that hand-off has already started"
        await respond(text=f"<@{origin.user}> picked *{repo}*: {said}.", replace_original=True)


def _action_number(action: dict[str, Any]) -> int | None:
    """The record id our buttons carry; None for anything a button of ours would not send.

    The gate's targets and the listeners read it with this one function, so the record the gate
    checks is the one the listener acts on.
    """
    return record_id(action.get("value"))


async def cancel_targets(session: AsyncSession, incoming: Incoming) -> list[Target]:
    """Cancel carries the task id; the policy is the request's."""
    task_id = _action_number(incoming.action)
    request = await request_of_task(session, task_id) if task_id is not None else None
    return [Target(AGENT_REQUEST, str(request or ""), CONTROL)]


def _shown_request(incoming: Incoming) -> str:
    request_id = _action_number(incoming.action)
    return str(request_id) if request_id is not None else ""


def _register_actions(rt: FeatureContext) -> None:
    async def refuse(body: dict[str, Any], respond: AsyncRespond, text: str) -> None:
        if body.get("response_url"):
            await respond(text=text, response_type="ephemeral", replace_original=False)
        else:  # App Home has no channel to answer in: say it in a DM
            await rt.client.chat_postMessage(channel=str(body["user"]["id"]), text=text)

    @rt.gate.action(views.CANCEL, cancel_targets)
    async def cancel(
        ack: AsyncAck, body: dict[str, Any], action: dict[str, Any], respond: AsyncRespond
    ) -> None:
        await ack()
        user = str(body["user"]["id"])
        task_id = _action_number(action)
        if task_id is None:
            await refuse(body, respond, ":warning: That Cancel button is not a task of mine.")
            return
        try:
            async with transaction(rt.sessions) as session:
                await service.request_cancel(session, task_id, user, rt.settings.here().admins)
        except service.AgentError as refusal:
            await refuse(body, respond, f":no_entry: {refusal}")

    async def choose(
        body: dict[str, Any],
        action: dict[str, Any],
        respond: AsyncRespond,
        decide: choices.Decision,
        done: str,
    ) -> None:
        task_id = _action_number(action)
        if task_id is None:
            await refuse(body, respond, ":warning: That button is not a task of mine.")
            return
        try:
            async with transaction(rt.sessions) as session:
                task = await decide(
                    session, task_id, str(body["user"]["id"]), rt.settings.here().admins
                )
                attempt = task.attempt
        except choices.ChoiceError as refusal:
            await refuse(body, respond, f":no_entry: {refusal}")
            return
        await respond(
            text=done.format(attempt=attempt), response_type="ephemeral", replace_original=False
        )

    @rt.gate.action(views.CONTINUE, cancel_targets)
    async def continue_with(
        ack: AsyncAck, body: dict[str, Any], action: dict[str, Any], respond: AsyncRespond
    ) -> None:
        await ack()
        done = "Follow-ups in this thread now continue attempt {attempt}."
        await choose(body, action, respond, choices.choose_attempt, done)

    @rt.gate.action(views.OPEN_PR, cancel_targets)
    async def open_pr(
        ack: AsyncAck, body: dict[str, Any], action: dict[str, Any], respond: AsyncRespond
    ) -> None:
        await ack()
        done = "Opening a draft pull request for attempt {attempt}; the comparison will link it."
        await choose(body, action, respond, choices.ask_for_pull_request, done)

    @rt.gate.action(views.SHOW_CONTEXT, one(AGENT_REQUEST, SEE, _shown_request))
    async def show_context(ack: AsyncAck, body: dict[str, Any], action: dict[str, Any]) -> None:
        await ack()
        request_id = _action_number(action)
        async with rt.sessions() as session:
            request = await session.get(AgentRequest, request_id) if request_id else None
        if request is None:
            return
        modal = modals.context_modal(request.sent_payload, request.sent_meta)
        await open_modal(rt.client, body["trigger_id"], modal)
