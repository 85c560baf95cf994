"""`/agent`: start a task in a new thread, list tasks, show the backends."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from slack_bolt.context.ack.async_ack import AsyncAck
from sqlalchemy.ext.asyncio import AsyncSession

from bot.agents import service
from bot.agents.service import queries
from bot.agents.service.parsing import parse_run
from bot.agents.settings import SECTION as AGENTS
from bot.agents.views import LABELS
from bot.agents.views.modals import USAGE
from bot.agents.workflows.intake import Intake
from bot.core.access import CHANNEL, SEE
from bot.core.commands import UsageError, wants_help
from bot.core.db import transaction
from bot.core.gate import Incoming, Target
from bot.core.security import inert
from bot.core.text import link, safe_url

if TYPE_CHECKING:
    from bot.feature import FeatureContext


async def command_targets(session: AsyncSession, incoming: Incoming) -> list[Target]:
    """`run` reads and posts in the channel it is typed in: its reader must read it."""
    word = incoming.text.strip().partition(" ")[0].lower()
    return [Target(CHANNEL, incoming.channel or "", SEE)] if word == "run" else []


class AgentCommand:
    def __init__(self, rt: FeatureContext, intake: Intake) -> None:
        self.rt = rt
        self.intake = intake

    def register(self) -> None:
        @self.rt.gate.command("/agent", command_targets)
        async def agent_command(ack: AsyncAck, command: dict[str, Any]) -> None:
            text = str(command.get("text") or "").strip()
            user, channel = str(command.get("user_id")), str(command.get("channel_id"))
            if wants_help(text):
                await ack(text=USAGE.text())
                return
            word, _, rest = text.partition(" ")
            try:
                answer = await self.dispatch(word.lower(), rest, user, channel)
            except UsageError as problem:
                answer = USAGE.problem(str(problem))
            except service.AgentError as refusal:
                answer = f":no_entry: {refusal}"
            await ack(text=answer)

    async def dispatch(self, word: str, rest: str, user: str, channel: str) -> str:
        if word == "run":
            return await self.run(rest, user, channel)
        if word == "list":
            return await self.list(user)
        if word == "backends":
            return self.backends()
        raise UsageError(f"Unknown subcommand `{inert(word, 40)}`.")

    async def run(self, rest: str, user: str, channel: str) -> str:
        if not await self.intake.access.may_start(user):
            raise service.AgentError("You are not on the list of people who may start agent tasks.")
        spec = parse_run(rest, self.intake.catalog(), channel)
        async with transaction(self.rt.sessions) as session:
            request = await service.create_request(
                session,
                spec,
                channel=channel,
                thread_ts=None,
                message_ts=None,
                requester=user,
                source="command",
            )
        attempts = f" ({spec.attempts} attempts)" if spec.attempts > 1 else ""
        return (
            f":robot_face: Agent task #{request.id} started on *{inert(spec.repo)}*{attempts}. "
            "Follow it in the new thread in this channel."
        )

    async def list(self, user: str) -> str:
        async with self.rt.sessions() as session:
            mine = await queries.tasks_for_user(session, user, limit=10)
        if not mine:
            return "You have no agent tasks yet. Start one with `/agent run owner/name <task>`."
        lines = ["*Your recent agent tasks*"]
        for brief in mine:
            pr = f" · {link(brief.pr_url, 'PR')}" if safe_url(brief.pr_url) else ""
            lines.append(
                f"• #{brief.request_id}.{brief.attempt} *{LABELS.get(brief.state, brief.state)}* "
                f"· {inert(brief.repo)} · {inert(brief.instruction, 80)}{pr}"
            )
        return "\n".join(lines)

    def backends(self) -> str:
        agents = self.rt.settings.section(AGENTS)
        if not agents.backends:
            return "No agent backend is configured (`agents.backends`)."
        lines = ["*Agent backends* (the first is the default)"]
        lines += [f"• `{inert(b.name)}` ({b.preset or b.kind})" for b in agents.backends]
        repos = sorted(set(agents.repos.values()) | set(agents.checkouts))
        if repos:
            lines.append("*Repositories:* " + ", ".join(f"`{inert(r)}`" for r in repos))
        return "\n".join(lines)
