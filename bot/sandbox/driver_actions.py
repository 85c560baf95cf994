"""Things people do in Slack: each changes the workspace, then emits the matching event.

Events are only delivered where Slack would deliver them: the bot must be in the
conversation (DMs with the bot always qualify).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import httpx

from .events import (
    app_home_opened_event,
    app_mention_event,
    member_joined_event,
    message_changed_event,
    message_deleted_event,
    message_event,
    pin_event,
    reaction_event,
)
from .models import Channel, JsonDict
from .serialize import message_json
from .tenancy import bot_in, channel_bots

if TYPE_CHECKING:
    from .state import SandboxState


class UserActions:
    state: SandboxState

    async def event(
        self,
        event: JsonDict,
        event_id: str | None = None,
        retry_num: int | None = None,
        retry_reason: str = "http_timeout",
        team: str | None = None,
    ) -> httpx.Response:
        raise NotImplementedError

    def _conversation(self, channel: str) -> Channel:
        found = self.state.channels.get(channel)
        if found is None:
            raise KeyError(f"unknown channel {channel}")
        return found

    def _bot_sees(self, channel: Channel) -> bool:
        """The app's bot (of a workspace the channel belongs to) is in the channel."""
        return bot_in(self.state, channel) is not None

    async def _emit(self, channel: Channel, event: JsonDict) -> httpx.Response | None:
        if not self._bot_sees(channel):
            return None
        return await self.event(event)

    def dm(self, user: str) -> str:
        """The DM channel between `user` and the bot."""
        return self.state.open_im(user)

    async def user_message(
        self, channel: str, user: str, text: str, thread_ts: str | None = None
    ) -> str:
        conversation = self._conversation(channel)
        if user not in conversation.members:
            raise ValueError(f"{user} is not a member of {channel}")
        msg = self.state.post(channel, user, text, thread_ts=thread_ts)
        await self._emit(conversation, message_event(self.state, msg))
        mentioned = any(f"<@{bot}>" in text for bot in channel_bots(self.state, conversation))
        if mentioned and not conversation.is_im:
            await self._emit(conversation, app_mention_event(self.state, msg))
        return msg.ts

    async def user_edit(
        self, channel: str, ts: str, new_text: str, user: str | None = None
    ) -> httpx.Response | None:
        conversation = self._conversation(channel)
        original = self.state.message(channel, ts)
        if original is None:
            raise KeyError(f"no message {ts} in {channel}")
        previous = message_json(self.state, original, include_metadata=False)
        msg = self.state.edit(channel, ts, new_text, user or original.user)
        event = message_changed_event(self.state, msg, previous, self.state.next_ts())
        return await self._emit(conversation, event)

    async def user_delete(self, channel: str, ts: str) -> httpx.Response | None:
        conversation = self._conversation(channel)
        original = self.state.message(channel, ts)
        if original is None:
            raise KeyError(f"no message {ts} in {channel}")
        previous = message_json(self.state, original, include_metadata=False)
        self.state.delete(channel, ts)
        event = message_deleted_event(self.state, channel, previous, self.state.next_ts())
        return await self._emit(conversation, event)

    async def user_react(
        self, channel: str, ts: str, user: str, name: str
    ) -> httpx.Response | None:
        conversation = self._conversation(channel)
        msg = self.state.react(channel, ts, user, name)
        event = reaction_event(self.state, "reaction_added", msg, user, name, self.state.next_ts())
        return await self._emit(conversation, event)

    async def user_unreact(
        self, channel: str, ts: str, user: str, name: str
    ) -> httpx.Response | None:
        conversation = self._conversation(channel)
        msg = self.state.unreact(channel, ts, user, name)
        event = reaction_event(
            self.state, "reaction_removed", msg, user, name, self.state.next_ts()
        )
        return await self._emit(conversation, event)

    async def user_pin(self, channel: str, ts: str, user: str) -> httpx.Response | None:
        conversation = self._conversation(channel)
        msg = self.state.pin(channel, ts, user)
        event = pin_event(self.state, "pin_added", msg, user, self.state.next_ts())
        return await self._emit(conversation, event)

    async def user_unpin(self, channel: str, ts: str, user: str) -> httpx.Response | None:
        conversation = self._conversation(channel)
        msg = self.state.unpin(channel, ts)
        event = pin_event(self.state, "pin_removed", msg, user, self.state.next_ts())
        return await self._emit(conversation, event)

    async def app_home_opened(self, user: str) -> httpx.Response:
        return await self.event(app_home_opened_event(self.state, user, self.state.next_ts()))

    async def member_joined(
        self, channel: str, user: str, inviter: str | None = None
    ) -> httpx.Response | None:
        conversation = self._conversation(channel)
        conversation.members.add(user)
        event = member_joined_event(self.state, conversation, user, self.state.next_ts(), inviter)
        return await self._emit(conversation, event)
