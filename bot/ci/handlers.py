"""Slack listeners and routes of the ci feature."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any, Literal

from slack_bolt.context.ack.async_ack import AsyncAck
from slack_sdk.errors import SlackApiError
from sqlalchemy.ext.asyncio import AsyncSession

from bot.ci import cards, commands, github, suspects, upkeep, views, watching, webhooks
from bot.ci.kinds import (
    CARD,
    OWNERS_LINE,
    RECOVERY_LINE,
    RUN_LINE,
    STILL_RED_JOB,
    SUSPECTS_LINE,
    SUSPECTS_TASK,
)
from bot.ci.models import CiSuspect
from bot.ci.routing import route_for
from bot.ci.service import history, known_branch, status
from bot.config import reveal
from bot.core.access import CHANNEL, CONFIGURE
from bot.core.commands import UsageError, wants_help
from bot.core.db import transaction, utcnow
from bot.core.gate import Incoming, Target, Targets
from bot.core.projector import Loader, View
from bot.core.scheduler import JobSpec

if TYPE_CHECKING:
    from bot.feature import FeatureContext

log = logging.getLogger(__name__)
# Addresses GitHub invents for people who hide theirs: no Slack account will ever match.
UNMATCHABLE_EMAIL = ("@users.noreply.github.com", "noreply@github.com")


def register(rt: FeatureContext) -> None:
    """Wire the feature into the runtime (listeners, routes, tasks, views, jobs, usage)."""
    rt.routers.append(webhooks.router(rt))
    rt.commands.add(commands.USAGE)
    project(rt, CARD, cards.load_breakage, views.card)
    project(rt, RUN_LINE, cards.load_run_line, views.run_line)
    project(rt, RECOVERY_LINE, cards.load_recovery, views.recovery_line)
    project(rt, SUSPECTS_LINE, cards.load_in_thread, views.suspects_line)
    project(rt, OWNERS_LINE, cards.load_in_thread, views.owners_line)
    rt.tasks.register(SUSPECTS_TASK, lambda payload: find_suspects(rt, payload))

    async def sweep() -> None:
        async with transaction(rt.sessions) as session:
            await upkeep.sweep_open_breakages(
                session, rt.settings.ci.routes, rt.settings.ci.still_red_hours
            )

    rt.scheduler.register(
        JobSpec(
            name=STILL_RED_JOB,
            func=sweep,
            description="mention route owners of breakages red too long; post cards after mutes",
            every_seconds=60,
        )
    )

    @rt.gate.command("/ci", command_targets(rt))
    async def ci_command(ack: AsyncAck, command: dict[str, Any]) -> None:
        text, blocks = await answer(rt, command.get("text") or "", command.get("user_id"))
        await ack(text=text, blocks=blocks)


def project(rt: FeatureContext, kind: str, load: Loader, view: View) -> None:
    """A view of the feature, redrawn when the rows it is drawn from change."""
    rt.projector.register(kind, load, view, watches=watching.VIEWS[kind])


def command_targets(rt: FeatureContext) -> Targets:
    """Muting a branch silences its channel: for that channel's members and admins."""

    async def targets(session: AsyncSession, incoming: Incoming) -> list[Target]:
        try:
            request = commands.parse(incoming.text)
        except UsageError:
            return []
        if not isinstance(request, commands.Mute | commands.Unmute):
            return []
        seen = await known_branch(session, request.repo, request.branch)
        default = request.branch if seen else None
        route = route_for(rt.settings.ci.routes, request.repo, request.branch, default)
        return [Target(CHANNEL, route.channel, CONFIGURE)] if route else []

    return targets


async def answer(rt: FeatureContext, text: str, user: str | None) -> tuple[str, list[Any] | None]:
    """The ephemeral answer to `/ci <text>`; bad input writes nothing."""
    if wants_help(text):
        return commands.USAGE.text(), None
    try:
        request = commands.parse(text)
        return await _run(rt, request, user)
    except UsageError as error:
        return f"{error}\n\n{commands.USAGE.text()}", None


async def _run(
    rt: FeatureContext, request: commands.Request, user: str | None
) -> tuple[str, list[Any] | None]:
    now = utcnow()
    routes = rt.settings.ci.routes
    if isinstance(request, commands.Status):
        async with rt.sessions() as session:
            items = await status(session, request.repo, now)
        return views.status_answer(items, request.repo, now)
    if isinstance(request, commands.History):
        async with rt.sessions() as session:
            breakages = await history(session, request.repo, request.branch)
        return views.history_answer(breakages, request.repo, request.branch)
    async with transaction(rt.sessions) as session:
        seen = await known_branch(session, request.repo, request.branch)
        default = request.branch if seen else None
        if route_for(routes, request.repo, request.branch, default) is None:
            raise UsageError(
                f"{request.repo} `{request.branch}` is not a tracked branch (see ci.routes)"
            )
        if isinstance(request, commands.Mute):
            until = now + request.duration
            await upkeep.mute(session, request.repo, request.branch, until, user)
            return views.mute_answer(request.repo, request.branch, until), None
        was_muted = await upkeep.unmute(session, request.repo, request.branch, now)
    return views.unmute_answer(request.repo, request.branch, was_muted), None


async def find_suspects(rt: FeatureContext, payload: dict[str, Any]) -> None:
    """Widen the suspects with GitHub's compare API (when a token is set), then find who they
    are on Slack. Every failure leaves the payload's suspects in place; safe to run again."""
    breakage_id = int(payload["breakage_id"])
    async with rt.sessions() as session:
        job = await suspects.job(session, breakage_id)
    if job is None or job.done:
        return
    token = reveal(rt.settings.ci.github_token)
    commits = None
    base, head = job.last_green_sha, job.first_red_sha
    if job.provider == "github" and token and base and base != head:
        commits = await github.compare(job.repo, base, head, token)
    async with transaction(rt.sessions) as session:
        if commits:
            await suspects.replace(session, breakage_id, commits)
        listed = await suspects.listed(session, breakage_id)
        users, emails = _configured(rt, listed)
        known = await suspects.cached(session, emails)
    users.update(known)
    # Slack is asked outside any transaction, so no database lock waits on the network.
    found = {email: await _lookup(rt, email) for email in emails if email not in known}
    async with transaction(rt.sessions) as session:
        for email, user in found.items():
            if user is not False:
                users[email] = user or None
                await suspects.remember(session, email, user or None)
        await suspects.finish(session, breakage_id, users)


def _configured(
    rt: FeatureContext, listed: list[CiSuspect]
) -> tuple[dict[str, str | None], list[str]]:
    """Users known from `ci.authors`, and the emails still to look up."""
    users: dict[str, str | None] = {}
    emails: list[str] = []
    for suspect in listed:
        configured = suspects.from_config(suspect, rt.settings.ci.authors)
        email = (suspect.author_email or "").lower()
        if configured:
            users[suspect.sha] = configured
        elif email and not email.endswith(UNMATCHABLE_EMAIL) and email not in emails:
            emails.append(email)
    return users, emails


async def _lookup(rt: FeatureContext, email: str) -> str | None | Literal[False]:
    """The Slack user with this email, None when there is none, False when Slack did not say."""
    try:
        response = await rt.client.users_lookupByEmail(email=email)
    except SlackApiError as error:
        if error.response.get("error") == "users_not_found":
            return None
        log.warning("users.lookupByEmail failed: %s", error.response.get("error"))
        return False
    user = response.get("user") or {}
    return str(user["id"]) if user.get("id") and not user.get("deleted") else None
