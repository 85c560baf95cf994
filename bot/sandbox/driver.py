"""Plays Slack's side towards the bot: signed slash commands, events and interactions.

Each request carries the workspace of the person acting (their `User.team_id`), so a
command, event or action "from workspace B" is one whose user is one of B's people.
"""

from __future__ import annotations

import contextlib
import copy
import json
import time
from collections.abc import Iterator
from dataclasses import dataclass
from types import TracebackType
from typing import Any
from urllib.parse import urlencode

import httpx

from bot.core.forms import VALUE

from .acks import apply_command_ack, apply_view_response
from .driver_actions import UserActions
from .events import envelope
from .models import JsonDict
from .oauth import revoke_team
from .payloads import (
    VERIFICATION_TOKEN,
    action_json,
    action_ts,
    block_action_payload,
    element_or_button,
    global_shortcut_payload,
    message_for_payload,
    message_shortcut_payload,
    slash_command_form,
    view_closed_payload,
    view_submission_payload,
)
from .serialize import message_json, view_json
from .signing import signed_headers
from .state import SandboxState
from .tenancy import installed_actor, team_of_user

FORM = "application/x-www-form-urlencoded"
SLACK_USER_AGENT = "Slackbot 1.0 (+https://api.slack.com/robots)"


@dataclass
class Delivery:
    kind: str
    status: int
    elapsed: float
    late: bool  # Slack gives up after 3 s: retries events, shows commands as failed


class SlackDriver(UserActions):
    ack_deadline = 3.0

    def __init__(
        self,
        bot_url: str,
        signing_secret: str,
        sandbox_state: SandboxState,
        sandbox_base: str,
        client: httpx.AsyncClient | None = None,
    ) -> None:
        self.bot_url = bot_url
        self.signing_secret = signing_secret
        self.state = sandbox_state
        self.sandbox_base = sandbox_base.rstrip("/")
        self._client = client or httpx.AsyncClient(timeout=10.0)
        self._owns_client = client is None
        self.timestamp_override: int | None = None
        self.secret_override: str | None = None
        self.last_envelope: JsonDict | None = None
        self.last_retry_num = 0
        self.last_response: httpx.Response | None = None
        self.deliveries: list[Delivery] = []

    # -- transport ---------------------------------------------------------------

    def tampered(self, *, timestamp: int | None = None, secret: str | None = None) -> SlackDriver:
        """A copy that signs with a stale timestamp or a wrong secret, for negative tests."""
        clone = copy.copy(self)
        clone._owns_client = False
        clone.timestamp_override = timestamp
        clone.secret_override = secret
        return clone

    async def send(
        self, body: bytes, content_type: str, kind: str, headers: dict[str, str] | None = None
    ) -> httpx.Response:
        timestamp = (
            self.timestamp_override if self.timestamp_override is not None else int(time.time())
        )
        secret = self.secret_override if self.secret_override is not None else self.signing_secret
        all_headers = {
            "Content-Type": content_type,
            "User-Agent": SLACK_USER_AGENT,
            **signed_headers(secret, timestamp, body),
            **(headers or {}),
        }
        started = time.monotonic()
        response = await self._client.post(self.bot_url, content=body, headers=all_headers)
        elapsed = time.monotonic() - started
        self.deliveries.append(
            Delivery(kind, response.status_code, elapsed, elapsed > self.ack_deadline)
        )
        self.last_response = response
        return response

    async def aclose(self) -> None:
        if self._owns_client:
            await self._client.aclose()

    async def __aenter__(self) -> SlackDriver:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    def response_url(
        self, channel: str | None, user: str | None, message_ts: str | None = None
    ) -> str:
        hook = self.state.new_hook(channel, user, message_ts)
        return f"{self.sandbox_base}/hooks/{hook.id}"

    def _user(self, user: str | None) -> str:
        chosen = user or self.state.default_user
        if not chosen:
            raise ValueError("no user given and the sandbox has no default user")
        return chosen

    @contextlib.contextmanager
    def _seen_by_app_of(self, user: str | None) -> Iterator[None]:
        """Views and messages in a payload as the app installed in the user's workspace
        sees them (its bot id, where it is installed)."""
        with self.state.acting_as(installed_actor(self.state, team_of_user(self.state, user))):
            yield

    def _channel(self, channel: str | None) -> str:
        chosen = channel or self.state.default_channel
        if not chosen:
            raise ValueError("no channel given and the sandbox has no default channel")
        return chosen

    # -- slash commands ------------------------------------------------------------

    async def command(
        self,
        command: str = "/ops",
        text: str = "",
        user: str | None = None,
        channel: str | None = None,
    ) -> httpx.Response:
        user_id, channel_id = self._user(user), self._channel(channel)
        form = slash_command_form(
            self.state,
            command=command,
            text=text,
            user=user_id,
            channel=channel_id,
            response_url=self.response_url(channel_id, user_id),
            trigger_id=self.state.new_trigger(user_id),
        )
        response = await self.send(urlencode(form).encode(), FORM, "command")
        late = self.deliveries[-1].late
        apply_command_ack(self.state, response, command, channel_id, user_id, late)
        return response

    # -- events --------------------------------------------------------------------

    @property
    def last_event_id(self) -> str | None:
        return self.last_envelope["event_id"] if self.last_envelope else None

    async def event(
        self,
        event: JsonDict,
        event_id: str | None = None,
        retry_num: int | None = None,
        retry_reason: str = "http_timeout",
        team: str | None = None,
    ) -> httpx.Response:
        """Deliver an event; `team`: the workspace where it happened (default: the event's
        user's, else its channel's, else the default workspace)."""
        chosen_id = event_id or self.state.new_id("Ev")
        self.last_envelope = envelope(self.state, event, chosen_id, int(time.time()), team)
        self.last_retry_num = retry_num or 0
        return await self._post_envelope(self.last_envelope, retry_num, retry_reason)

    async def uninstall_app(self, team: str | None = None) -> list[httpx.Response]:
        """Someone removes the app from one workspace (default: the default one), or with an
        enterprise id uninstalls the org-wide install: that install's tokens stop working,
        and Slack sends `tokens_revoked` then `app_uninstalled` for it (Slack does not
        promise that order). Other workspaces' installs keep working."""
        chosen = team or self.state.team_id
        revoked = revoke_team(self.state, chosen)
        return [
            await self.event({"type": "tokens_revoked", "tokens": revoked}, team=chosen),
            await self.event({"type": "app_uninstalled"}, team=chosen),
        ]

    async def redeliver(self, retry_reason: str = "http_timeout") -> httpx.Response:
        """Resend the last envelope unchanged, as Slack's retry after a missed ack."""
        if self.last_envelope is None:
            raise RuntimeError("no event has been sent yet")
        self.last_retry_num += 1
        return await self._post_envelope(self.last_envelope, self.last_retry_num, retry_reason)

    async def _post_envelope(
        self, env: JsonDict, retry_num: int | None, retry_reason: str
    ) -> httpx.Response:
        headers = {}
        if retry_num:
            headers = {"X-Slack-Retry-Num": str(retry_num), "X-Slack-Retry-Reason": retry_reason}
        body = json.dumps(env).encode()
        return await self.send(body, "application/json", "event", headers)

    async def url_verification(self, challenge: str) -> httpx.Response:
        body = {"token": VERIFICATION_TOKEN, "challenge": challenge, "type": "url_verification"}
        return await self.send(json.dumps(body).encode(), "application/json", "url_verification")

    # -- interactions ----------------------------------------------------------------

    async def interaction(self, payload: JsonDict) -> httpx.Response:
        body = urlencode({"payload": json.dumps(payload)}).encode()
        response = await self.send(body, FORM, str(payload.get("type")))
        if payload.get("type") == "view_submission":
            apply_view_response(self.state, payload["view"]["id"], payload["user"]["id"], response)
        return response

    def build_block_action(
        self,
        user: str,
        action_id: str,
        value: Any = None,
        channel: str | None = None,
        message_ts: str | None = None,
        view: str | JsonDict | None = None,
        block_id: str | None = None,
    ) -> JsonDict:
        with self._seen_by_app_of(user):
            return self._block_action(user, action_id, value, channel, message_ts, view, block_id)

    def _block_action(
        self,
        user: str,
        action_id: str,
        value: Any,
        channel: str | None,
        message_ts: str | None,
        view: str | JsonDict | None,
        block_id: str | None,
    ) -> JsonDict:
        view_data = self._view_data(view)
        message = None
        if channel and message_ts:
            message = message_for_payload(self.state, channel, message_ts, "")
        blocks = view_data.get("blocks") if view_data else (message or {}).get("blocks")
        found_block_id, element = element_or_button(blocks, action_id)
        action = action_json(element, block_id or found_block_id, value, action_ts())
        response_url = None if view_data else self.response_url(channel, user, message_ts)
        return block_action_payload(
            self.state,
            user=user,
            action=action,
            trigger_id=self.state.new_trigger(user),
            response_url=response_url,
            channel=channel,
            message=message,
            view=view_data,
        )

    def _view_data(self, view: str | JsonDict | None) -> JsonDict | None:
        if isinstance(view, dict) or view is None:
            return view
        stored = self.state.views.get(view) or next(
            (v for v in self.state.home_views.values() if v.id == view), None
        )
        if stored is None:
            raise KeyError(f"unknown view {view}")
        return view_json(self.state, stored)

    async def block_action(
        self,
        user: str,
        action_id: str,
        value: Any = None,
        channel: str | None = None,
        message_ts: str | None = None,
        view: str | JsonDict | None = None,
        block_id: str | None = None,
    ) -> httpx.Response:
        payload = self.build_block_action(
            user, action_id, value, channel, message_ts, view, block_id
        )
        return await self.interaction(payload)

    def build_view_submission(
        self,
        user: str,
        callback_id: str,
        state_values: JsonDict,
        private_metadata: str | None = None,
        view_id: str | None = None,
    ) -> JsonDict:
        with self._seen_by_app_of(user):
            view = self._submitted_view(user, callback_id, view_id)
        view["state"] = {"values": state_values}
        if private_metadata is not None:
            view["private_metadata"] = private_metadata
        return view_submission_payload(
            self.state, user=user, view=view, trigger_id=self.state.new_trigger(user)
        )

    def _submitted_view(self, user: str, callback_id: str, view_id: str | None) -> JsonDict:
        if view_id is not None:
            return view_json(self.state, self.state.views[view_id])
        candidates = [v for v in self.state.open_views() if v.callback_id == callback_id]
        mine = [v for v in candidates if v.user in (user, None)]
        if mine:
            return view_json(self.state, mine[-1])
        # Submitting a modal the bot never opened still exercises the handler
        return {
            "id": self.state.new_id("V"),
            "team_id": team_of_user(self.state, user),
            "type": "modal",
            "callback_id": callback_id,
            "private_metadata": "",
            "blocks": [],
            "title": {"type": "plain_text", "text": callback_id[:24] or "Modal"},
            "hash": "0.sandbox",
            "app_id": self.state.app_id,
            "bot_id": self.state.actor.bot_id,
        }

    async def view_submission(
        self,
        user: str,
        callback_id: str,
        state_values: JsonDict,
        private_metadata: str | None = None,
        view_id: str | None = None,
    ) -> httpx.Response:
        payload = self.build_view_submission(
            user, callback_id, state_values, private_metadata, view_id
        )
        return await self.interaction(payload)

    async def view_closed(self, user: str, view_id: str) -> httpx.Response:
        view = self.state.views[view_id]
        view.closed = True
        with self._seen_by_app_of(user):
            rendered = view_json(self.state, view)
        payload = view_closed_payload(self.state, user=user, view=rendered)
        return await self.interaction(payload)

    def build_message_shortcut(
        self, user: str, callback_id: str, channel: str, message_ts: str, message_text: str = ""
    ) -> JsonDict:
        with self._seen_by_app_of(user):
            message = message_for_payload(self.state, channel, message_ts, message_text)
        return message_shortcut_payload(
            self.state,
            user=user,
            callback_id=callback_id,
            channel=channel,
            message=message,
            trigger_id=self.state.new_trigger(user),
            response_url=self.response_url(channel, user),
        )

    async def message_shortcut(
        self, user: str, callback_id: str, channel: str, message_ts: str, message_text: str = ""
    ) -> httpx.Response:
        payload = self.build_message_shortcut(user, callback_id, channel, message_ts, message_text)
        return await self.interaction(payload)

    def build_global_shortcut(self, user: str, callback_id: str) -> JsonDict:
        return global_shortcut_payload(
            self.state, user=user, callback_id=callback_id, trigger_id=self.state.new_trigger(user)
        )

    async def global_shortcut(self, user: str, callback_id: str) -> httpx.Response:
        return await self.interaction(self.build_global_shortcut(user, callback_id))

    def message_payload(self, channel: str, ts: str) -> JsonDict:
        msg = self.state.message(channel, ts)
        if msg is None:
            raise KeyError(f"no message {ts} in {channel}")
        return message_json(self.state, msg)


def picked(**choices: str) -> JsonDict:
    """A form's state values when each field (block id) has the option `value` chosen in its
    static select (element `value`, as `bot.core.forms` builds them)."""
    return {
        block: {VALUE: {"type": "static_select", "selected_option": {"value": value}}}
        for block, value in choices.items()
    }
