"""Hand-offs from threads: a mention, a modal submission, or the requester answering a question."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from slack_sdk.errors import SlackApiError
from sqlalchemy.ext.asyncio import AsyncSession

from bot.agents import models as m
from bot.agents import service
from bot.agents.models import AgentRequest
from bot.agents.service import AgentError
from bot.agents.service.parsing import (
    Catalog,
    MissingRepo,
    Spec,
    resolve,
    split_options,
    strip_mention,
)
from bot.agents.settings import SECTION as AGENTS
from bot.agents.views import repo_question
from bot.agents.views.modals import USAGE
from bot.agents.workflows.slack_reads import Access, read_thread
from bot.core import ledger
from bot.core.commands import UsageError
from bot.core.db import transaction
from bot.core.security import redact_secrets

if TYPE_CHECKING:
    from bot.feature import FeatureContext

log = logging.getLogger(__name__)
SEEN = "eyes"


@dataclass(frozen=True)
class Origin:
    user: str
    channel: str
    thread_ts: str
    message_ts: str | None
    source: str


class Intake:
    def __init__(self, rt: FeatureContext, access: Access) -> None:
        self.rt = rt
        self.access = access

    def catalog(self) -> Catalog:
        return Catalog.from_config(self.rt.settings.section(AGENTS))

    async def react(self, channel: str, ts: str, name: str = SEEN) -> None:
        try:
            await self.rt.client.reactions_add(channel=channel, timestamp=ts, name=name)
        except SlackApiError as error:
            if error.response.get("error") != "already_reacted":
                log.info("agents: reactions.add failed: %s", error.response.get("error"))

    async def tell(self, origin: Origin, text: str) -> None:
        """An ephemeral line in the thread, seen only by the person who asked."""
        try:
            await self.rt.client.chat_postEphemeral(
                channel=origin.channel, user=origin.user, text=text, thread_ts=origin.thread_ts
            )
        except SlackApiError as error:
            log.warning("agents: could not answer %s: %s", origin.user, error.response.get("error"))

    # -- mentions ------------------------------------------------------------------------

    async def on_mention(self, event: dict[str, Any], bot_user_id: str | None) -> None:
        origin = Origin(
            user=str(event.get("user") or ""),
            channel=str(event.get("channel")),
            thread_ts=str(event.get("thread_ts") or event.get("ts")),
            message_ts=str(event.get("ts")),
            source="mention",
        )
        if not origin.user:
            return
        await self.react(origin.channel, str(event.get("ts")))
        text = strip_mention(str(event.get("text") or ""), bot_user_id)
        try:
            if await self.answer(origin, text):
                return
            await self.start(origin, text)
        except AgentError as refusal:
            await self.tell(origin, f":no_entry: {refusal}")
        except MissingRepo as problem:
            await self.ask_repo(origin, str(problem))
        except UsageError as problem:
            await self.tell(origin, USAGE.problem(str(problem)))

    async def ask_repo(self, origin: Origin, problem: str) -> None:
        """A select of the allowed repositories in the thread, for the requester to pick."""
        repos = sorted(self.catalog().known_repos)
        if not repos or origin.message_ts is None:
            await self.tell(origin, USAGE.problem(problem))
            return
        async with transaction(self.rt.sessions) as session:
            # Asked once, however often the mention's event is delivered.
            key = f"{origin.channel}:{origin.message_ts}"
            if not await ledger.claim(session, "agents.ask_repo", key):
                return
        text, blocks = repo_question(origin.user, repos, origin.message_ts)
        try:
            await self.rt.client.chat_postMessage(
                channel=origin.channel, thread_ts=origin.thread_ts, text=text, blocks=blocks
            )
        except SlackApiError as error:
            log.warning("agents: could not ask for a repository: %s", error.response.get("error"))

    async def picked_repo(self, origin: Origin, repo: str) -> AgentRequest | None:
        """The requester picked `repo` for the mention at `origin`: start it there."""
        if repo not in self.catalog().known_repos:
            raise AgentError(f"`{repo}` is not one of the repositories agents work on.")
        thread = await read_thread(self.rt.client, origin.channel, origin.thread_ts)
        mention = next((msg for msg in thread if msg.ts == origin.message_ts), None)
        if mention is None:
            raise AgentError("The message that asked for the agent is gone.")
        if mention.user != origin.user:
            raise AgentError(f"Only <@{mention.user}>, who asked, can pick the repository.")
        known = self.rt.identity.known
        text = strip_mention(mention.text, known.user_id if known else None)
        return await self.start(origin, f"{text} repo={repo}")

    async def start(
        self, origin: Origin, text: str, spec: Spec | None = None
    ) -> AgentRequest | None:
        """Check who asks and what, then record the request (nothing is written on refusal).

        A mention starts at most one request, even when its event is delivered again."""
        if not await self.access.may_start(origin.user):  # may ask Slack: not in a transaction
            raise AgentError("You are not on the list of people who may start agent tasks.")
        async with transaction(self.rt.sessions) as session:
            # Events can come again (the inbox retries when any subscriber failed); a refusal
            # below rolls the claim back, so only a handled mention stays claimed.
            if origin.source == "mention" and not await self._claim(session, origin):
                return None
            previous = await self.gate(session, origin)
            if spec is None:
                spec = self.spec_from_text(text, origin.channel, previous)
            return await service.create_request(
                session,
                spec,
                channel=origin.channel,
                thread_ts=origin.thread_ts,
                message_ts=origin.message_ts,
                requester=origin.user,
                source=origin.source,
                follow_up_of=previous.id if previous else None,
                context_id=previous.context_id if previous else None,
            )

    async def _claim(self, session: AsyncSession, origin: Origin) -> bool:
        key = f"{origin.channel}:{origin.message_ts}"
        return await ledger.claim(session, f"agents.{origin.source}", key)

    def spec_from_text(self, text: str, channel: str, previous: AgentRequest | None) -> Spec:
        instruction, options = split_options(text)
        if previous is not None:
            # A follow-up keeps the repository and backend unless told otherwise.
            options = {"repo": previous.repo, "backend": previous.backend, **options}
        return resolve(instruction, options, self.catalog(), channel)

    async def gate(self, session: AsyncSession, origin: Origin) -> AgentRequest | None:
        """Refuse what the person may not do in this thread; return the request followed up."""
        earlier = await service.thread_requests(session, origin.channel, origin.thread_ts)
        if not earlier:
            return None
        previous = earlier[0]
        if not service.can_control(origin.user, previous.requester, self.access.admins):
            raise AgentError(
                f"This thread's agent task belongs to <@{previous.requester}>: only they or an "
                "admin can follow up. Start your own task in a new thread."
            )
        running = await service.tasks_in_thread(
            session, origin.channel, origin.thread_ts, [m.QUEUED, m.SUBMITTED, m.WORKING]
        )
        if running:
            raise AgentError(
                "An agent task is still running in this thread: wait for its result or cancel it."
            )
        return previous

    # -- answers -------------------------------------------------------------------------

    async def waiting(self, channel: str, thread_ts: str, user: str) -> list[int]:
        """Tasks in this thread waiting for this person's answer."""
        async with self.rt.sessions() as session:
            rows = await service.tasks_in_thread(session, channel, thread_ts, [m.INPUT_REQUIRED])
        return [task.id for task, request in rows if request.requester == user]

    async def answer(self, origin: Origin, text: str) -> bool:
        """The requester's reply goes to every attempt in the thread that asked a question."""
        waiting = await self.waiting(origin.channel, origin.thread_ts, origin.user)
        if not waiting or not text.strip():
            return False
        async with transaction(self.rt.sessions) as session:
            # An answer is taken once, even if its event comes again after a later question.
            if not await self._claim(session, origin):
                return True
            for task_id in waiting:
                await service.record_answer(session, task_id, redact_secrets(text.strip()))
        return True

    async def on_reply(self, event: dict[str, Any]) -> None:
        origin = Origin(
            user=str(event.get("user")),
            channel=str(event.get("channel")),
            thread_ts=str(event.get("thread_ts")),
            message_ts=str(event.get("ts")),
            source="reply",
        )
        if await self.answer(origin, str(event.get("text") or "")):
            await self.react(origin.channel, str(event.get("ts")))
