"""`/ci <subcommand>`: who may run it (the gate's targets), and text -> service calls -> the
ephemeral answer; bad input writes nothing."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sqlalchemy.ext.asyncio import AsyncSession

from bot.ci import views
from bot.ci.service import commands, history, known_branch, status, upkeep
from bot.ci.service.routing import route_for
from bot.ci.settings import SECTION as CI
from bot.core.access import CHANNEL, CONFIGURE
from bot.core.commands import UsageError, wants_help
from bot.core.db import transaction, utcnow
from bot.core.gate import Incoming, Target, Targets

if TYPE_CHECKING:
    from bot.feature import FeatureContext


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
        route = route_for(rt.settings.section(CI).routes, request.repo, request.branch, default)
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
    routes = rt.settings.section(CI).routes
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
