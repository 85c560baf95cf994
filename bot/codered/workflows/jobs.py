"""Durable tasks of a code red: the war-room channel and inviting people into it.

Each may run again after a crash: a channel we created but did not store is found by name and
adopted, and inviting someone already in is not an error.
"""

from __future__ import annotations

import logging
from typing import Any

from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.codered import service
from bot.codered.models import CodeRed
from bot.core import workspaces
from bot.core.channels import create_channel, invite_each, slack_error_code
from bot.core.db import transaction
from bot.core.projector import NotReady
from bot.core.text import TOPIC_LIMIT, by_person
from bot.core.text import topic as text_topic
from bot.core.workspaces import Workspace
from bot.standups import service as standups

log = logging.getLogger(__name__)
MAX_NAME_ATTEMPTS = 20


def channel_name(slug: str, attempt: int) -> str:
    base = f"codered-{slug}"[:70]
    return base if attempt == 1 else f"{base}-{attempt}"


class CodeRedJobs:
    def __init__(self, sessions: async_sessionmaker[AsyncSession], client: AsyncWebClient) -> None:
        self.sessions = sessions
        self.client = client

    async def _codered(self, codered_id: int) -> CodeRed | None:
        async with self.sessions() as session:
            return await session.get(CodeRed, codered_id)

    async def open_channel(self, payload: dict[str, Any]) -> None:
        codered = await self._codered(int(payload["codered"]))
        if codered is None:
            return
        if codered.channel_id is None:
            channel, name = await self._create(codered)
            async with transaction(self.sessions) as session:
                await service.store_channel(session, codered.id, channel, name)
            codered.channel_id = channel
        async with self.sessions() as session:
            people = [codered.owner_id, codered.declared_by]
            if codered.standup_id is not None:
                people += await standups.participants(session, codered.standup_id)
        people = list(dict.fromkeys(people))
        await self._invite(codered.channel_id, people)
        await self._describe(codered, codered.channel_id)
        await self._open_rooms_elsewhere(codered, people)

    async def _open_rooms_elsewhere(self, codered: CodeRed, people: list[str]) -> None:
        """A war room in each workspace the code red spans, made with that workspace's token.
        Its people are invited where they are members there (one Enterprise Grid org's users
        are the same everywhere); the others join it themselves."""
        async with self.sessions() as session:
            rooms = await service.rooms_elsewhere(session, codered.id)
        for team, room in rooms.items():
            with workspaces.within(Workspace(team)):
                if room is None:
                    room, name = await self._create(codered)
                    async with transaction(self.sessions) as session:
                        await service.store_channel_elsewhere(session, codered.id, team, room, name)
                await self._invite(room, people)
                await self._describe(codered, room)

    async def invite(self, payload: dict[str, Any]) -> None:
        codered = await self._codered(int(payload["codered"]))
        if codered is None:
            return
        if codered.channel_id is None:
            raise NotReady(f"code red {codered.id} has no war room yet")
        user = str(payload["user"])
        await self._invite(codered.channel_id, [user])
        async with self.sessions() as session:
            rooms = await service.rooms_elsewhere(session, codered.id)
        for team, room in rooms.items():
            if room is not None:  # one not opened yet invites everyone when it is
                with workspaces.within(Workspace(team)):
                    await self._invite(room, [user])

    async def _create(self, codered: CodeRed) -> tuple[str, str]:
        return await create_channel(
            self.client,
            lambda attempt: channel_name(codered.slug, attempt),
            is_private=False,
            is_bound=self._taken,
            max_attempts=MAX_NAME_ATTEMPTS,
        )

    async def _taken(self, channel: str) -> bool:
        async with self.sessions() as session:
            return await service.is_war_room(session, channel)

    async def _invite(self, channel: str, users: list[str]) -> None:
        await invite_each(self.client, channel, users)

    async def _describe(self, codered: CodeRed, channel: str) -> None:
        prefix = f"Code {codered.level}: "
        topic = prefix + text_topic(by_person(codered.focus), TOPIC_LIMIT - len(prefix))
        try:
            await self.client.conversations_setTopic(channel=channel, topic=topic)
        except SlackApiError as error:
            log.info("codered: topic not set: %s", slack_error_code(error))
