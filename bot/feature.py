"""What a feature is given: the narrow part of the process it may use.

Features receive this protocol, never the process (`bot.app.Runtime`, which satisfies it): the
store, the Slack client, and the registries through which a feature declares what it serves
(commands, gate entries, event subscribers and writers, durable tasks, projected views and their
watches, scheduled jobs, HTTP routes, access policies). mypy checks every feature against it, and
an import contract keeps features from importing the process itself.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Protocol

from fastapi import APIRouter
from slack_sdk.web.async_client import AsyncWebClient
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.config import Settings
from bot.core.access import Policy
from bot.core.commands import CommandRegistry
from bot.core.events import EventBus
from bot.core.gate import Gate
from bot.core.identity import BotIdentity
from bot.core.projector_worker import Projector
from bot.core.scheduler import Scheduler
from bot.core.tasks import TaskRunner


class FeatureContext(Protocol):
    @property
    def settings(self) -> Settings: ...

    @property
    def sessions(self) -> async_sessionmaker[AsyncSession]: ...

    @property
    def client(self) -> AsyncWebClient: ...

    @property
    def replica_id(self) -> str: ...

    @property
    def started(self) -> bool: ...

    @property
    def identity(self) -> BotIdentity: ...

    # The registries a feature declares itself through.
    @property
    def commands(self) -> CommandRegistry: ...

    @property
    def gate(self) -> Gate: ...

    @property
    def policy(self) -> Policy: ...

    @property
    def events(self) -> EventBus: ...

    @property
    def tasks(self) -> TaskRunner: ...

    @property
    def projector(self) -> Projector: ...

    @property
    def scheduler(self) -> Scheduler: ...

    @property
    def routers(self) -> list[APIRouter]: ...

    def on_stop(self, hook: Callable[[], Awaitable[None]]) -> None: ...
