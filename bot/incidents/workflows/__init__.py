"""Durable tasks and the reminder sweep: the incident's side effects in Slack.

Each handler may run again after a crash, so each step checks what is already done (stored in
the database) or is idempotent in Slack (inviting someone already in, setting the same topic).

`timeline.py` fetches the messages people pin or react to and adds them to the timeline.
"""

from __future__ import annotations

import datetime as dt
import logging
from typing import Any

from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.core.channels import create_channel, invite_each, slack_error_code
from bot.core.db import transaction, utcnow
from bot.core.projector import NotReady
from bot.incidents import service
from bot.incidents.models import Incident
from bot.incidents.service import queries, reminders
from bot.incidents.service.state import IncidentState, Options
from bot.incidents.views import postmortem, topic

log = logging.getLogger(__name__)
MAX_NAME_ATTEMPTS = 30


class IncidentJobs:
    def __init__(
        self, sessions: async_sessionmaker[AsyncSession], client: AsyncWebClient, opts: Options
    ) -> None:
        self.sessions = sessions
        self.client = client
        self.opts = opts

    async def _incident(self, incident_id: int) -> Incident | None:
        async with self.sessions() as session:
            return await session.get(Incident, incident_id)

    async def _state(self, incident_id: int) -> IncidentState | None:
        async with self.sessions() as session:
            return await queries.incident_state(session, self.opts, incident_id)

    # -------------------------------------------------------------- channel

    async def open_channel(self, payload: dict[str, Any]) -> None:
        incident_id = int(payload["incident"])
        incident = await self._incident(incident_id)
        if incident is None:
            return
        if incident.channel_id is None:
            channel_id, name = await self._create_channel(incident)
            async with transaction(self.sessions) as session:
                await service.store_channel(session, incident_id, channel_id, name)
        state = await self._state(incident_id)
        assert state is not None and state.channel_id is not None
        # Holders are read after the channel is stored: anyone assigned later is invited by
        # their own invite task, which now finds the channel.
        people = {state.reporter_id, *(user for _, user in state.roles if user)}
        await self._invite(state.channel_id, sorted(people))
        await self._set_topic(state)

    async def _create_channel(self, incident: Incident) -> tuple[str, str]:
        def name_for(attempt: int) -> str:
            return service.channel_name(
                self.opts.channel_prefix, incident.declared_at, incident.title, incident.number,
                attempt,
            )  # fmt: skip

        async def is_bound(channel: str) -> bool:
            async with self.sessions() as session:
                return await service.channel_taken(session, channel)

        return await create_channel(
            self.client, name_for, is_private=incident.private, is_bound=is_bound,
            max_attempts=MAX_NAME_ATTEMPTS,
        )  # fmt: skip

    async def _invite(self, channel_id: str, users: list[str]) -> None:
        await invite_each(self.client, channel_id, users)

    async def invite(self, payload: dict[str, Any]) -> None:
        incident = await self._incident(int(payload["incident"]))
        if incident is None or incident.channel_id is None:
            return  # open_channel invites every holder once the channel exists
        await self._invite(incident.channel_id, [str(u) for u in payload.get("users", [])])

    async def _set_topic(self, state: IncidentState) -> None:
        if state.channel_id is None:
            return
        await self.client.conversations_setTopic(channel=state.channel_id, topic=topic(state))

    async def update_topic(self, payload: dict[str, Any]) -> None:
        state = await self._state(int(payload["incident"]))
        if state is not None:
            await self._set_topic(state)

    # -------------------------------------------------------------- postmortem

    async def _profile(self, user: str | None) -> dict[str, Any]:
        if not user:
            return {}
        try:
            return dict((await self.client.users_info(user=user))["user"])
        except SlackApiError as error:
            log.warning("incidents: users.info %s failed: %s", user, slack_error_code(error))
            return {}

    async def _names(self, state: IncidentState) -> dict[str, str]:
        people = {state.reporter_id, *(u for _, u in state.roles if u)}
        people |= {e.author_id for e in state.timeline if e.author_id}
        people |= {f.owner_id for f in state.followups if f.owner_id}
        for entry in state.timeline:
            people |= postmortem.mentioned(entry.text)
        names = {}
        for user in sorted(people):
            profile = await self._profile(user)
            if profile:
                names[user] = str(profile.get("real_name") or profile.get("name") or user)
        return names

    async def write_postmortem(self, payload: dict[str, Any]) -> None:
        incident_id = int(payload["incident"])
        incident = await self._incident(incident_id)
        if incident is None or incident.postmortem_file_id:
            return
        channel = incident.channel_id
        if channel is None:
            raise NotReady(f"incident {incident_id} has no channel yet")
        if incident.postmortem_md is None:
            state = await self._state(incident_id)
            assert state is not None
            # The reader is the resolver: their Slack time zone decides how times read.
            tz = str((await self._profile(incident.resolved_by)).get("tz") or "UTC")
            markdown = postmortem.render(state, tz, await self._names(state), utcnow())
            async with transaction(self.sessions) as session:
                await service.store_postmortem(session, incident_id, markdown, tz)
            incident = await self._incident(incident_id)
            assert incident is not None and incident.postmortem_md is not None
        file_id = await self._uploaded(channel, postmortem.filename(incident.number))
        if file_id is None:
            file_id = await self._upload(incident)
        async with transaction(self.sessions) as session:
            await service.store_postmortem_file(session, incident_id, file_id)

    async def _uploaded(self, channel: str, name: str) -> str | None:
        """The draft, if an earlier run uploaded it but died before recording that."""
        history = await self.client.conversations_history(channel=channel, limit=200)
        messages: list[dict[str, Any]] = history.get("messages", [])
        for message in messages:
            for file in message.get("files") or []:
                if file.get("name") == name:
                    return str(file["id"])
        return None

    async def _upload(self, incident: Incident) -> str:
        assert incident.channel_id and incident.postmortem_md
        response = await self.client.files_upload_v2(
            channel=incident.channel_id,
            content=incident.postmortem_md,
            filename=postmortem.filename(incident.number),
            title=f"Postmortem draft: incident #{incident.number}",
            initial_comment=(
                f":memo: Postmortem draft for incident #{incident.number} "
                f"(times in {incident.postmortem_tz or 'UTC'}). Edit it and share it."
            ),
        )
        files = response.get("files") or [response.get("file") or {}]
        return str(files[0]["id"])

    # -------------------------------------------------------------- reminders

    async def sweep_reminders(self, now: dt.datetime | None = None) -> list[int]:
        async with transaction(self.sessions) as session:
            return await reminders.create_due_reminders(session, self.opts, now)
