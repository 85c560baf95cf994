"""Slack listeners and routes of the ci feature: `register(rt)` wires them into the runtime.

Beside it: `commands` (the `/ci` slash command), `webhooks` (`POST /webhooks/...`, the CI
providers' deliveries) and `fixes` (the card's "Ask agents to fix" button). The steps that
call GitHub and Slack are in `bot/ci/workflows/`.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from slack_bolt.context.ack.async_ack import AsyncAck
from sqlalchemy.ext.asyncio import AsyncSession

from bot.agents import service as agents
from bot.ci import views, workflows
from bot.ci.handlers import webhooks
from bot.ci.handlers.commands import answer, command_targets
from bot.ci.handlers.fixes import register_fixes
from bot.ci.service import cards, commands, watching
from bot.ci.service.cards import BreakageState
from bot.ci.service.kinds import (
    CARD,
    OWNERS_LINE,
    RECOVERY_LINE,
    RUN_LINE,
    STILL_RED_JOB,
    SUSPECTS_LINE,
    SUSPECTS_TASK,
)
from bot.ci.settings import SECTION as CI
from bot.core.projector import View
from bot.core.scheduler import JobSpec

if TYPE_CHECKING:
    from bot.feature import FeatureContext


def register(rt: FeatureContext) -> None:
    """Wire the feature into the runtime (listeners, routes, tasks, views, jobs, usage)."""
    rt.routers.append(webhooks.router(rt))
    rt.commands.add(commands.USAGE)
    project(rt, CARD, _fixable(rt, cards.load_breakage), views.card)
    project(rt, RUN_LINE, cards.load_run_line, views.run_line)
    project(rt, RECOVERY_LINE, cards.load_recovery, views.recovery_line)
    project(rt, SUSPECTS_LINE, cards.load_in_thread, views.suspects_line)
    project(rt, OWNERS_LINE, cards.load_in_thread, views.owners_line)
    rt.tasks.register(SUSPECTS_TASK, lambda payload: workflows.find_suspects(rt, payload))
    register_fixes(rt)

    async def sweep() -> None:
        await workflows.sweep_open_breakages(rt)

    rt.scheduler.register(
        JobSpec(
            name=STILL_RED_JOB,
            func=sweep,
            description=(
                "mention route owners of breakages red too long; post cards after mutes; "
                "settle the crediting of agents' attempts that never decided"
            ),
            every_seconds=60,
            per_workspace=False,  # the org's CI
        )
    )

    @rt.gate.command("/ci", command_targets(rt))
    async def ci_command(ack: AsyncAck, command: dict[str, Any]) -> None:
        text, blocks = await answer(rt, command.get("text") or "", command.get("user_id"))
        await ack(text=text, blocks=blocks)


# A loader of `cards`: a view's record id, and the `ci.authors` of the view's workspace.
CardLoader = Callable[[AsyncSession, str, Mapping[str, str]], Awaitable[Any]]


def _fixable(rt: FeatureContext, load: CardLoader) -> CardLoader:
    """The card, told whether agents can be asked to fix it: they work on its repository."""

    async def load_card(
        session: AsyncSession, record_id: str, authors: Mapping[str, str]
    ) -> BreakageState | None:
        state = await load(session, record_id, authors)
        if not isinstance(state, BreakageState):
            return None
        fixable = agents.handoff_repo(rt.settings, state.repo) is not None
        return replace(state, fixable=fixable)

    return load_card


def project(rt: FeatureContext, kind: str, load: CardLoader, view: View) -> None:
    """A view of the feature, redrawn when the rows it is drawn from change."""

    async def load_here(session: AsyncSession, record_id: str) -> Any:
        # The projector loads a view within its workspace, so these are the authors it sees.
        return await load(session, record_id, rt.settings.section(CI).authors)

    rt.projector.register(kind, load_here, view, watches=watching.VIEWS[kind])
