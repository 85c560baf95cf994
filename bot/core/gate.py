"""The dispatch gate: every interactive way in is declared, and checked before its listener.

Features register commands, block actions, view submissions, shortcuts and options loads through
`Gate`, never on Bolt directly. Each declaration says which records the request touches and what
it does to them (`Target`s, computed from the payload by a function the feature gives). One Bolt
middleware then, for every interactive request:

* refuses it when no declaration matches (a listener registered on Bolt directly never runs);
* asks the access policy about each target and, when refused, answers the person with an
  ephemeral reason and never calls the listener, so nothing is written;
* runs the check and the listener within the workspace whose work the request acts on, when
  that is another workspace than the person's: a card another workspace posted, a modal
  opened within another, or records that are all another's, seen through a shared channel
  (see `bot.core.workspaces`). That workspace's rules then decide, and what the listener
  writes is its.

A target function and its listener read the payload with the same helper, so the record the
gate checks is the one the listener acts on.
"""

from __future__ import annotations

import asyncio
import json
import logging
import re
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

from slack_bolt.app.async_app import AsyncApp
from slack_bolt.request.async_request import AsyncBoltRequest
from slack_bolt.request.payload_utils import (
    is_block_actions,
    is_options,
    is_shortcut,
    is_slash_command,
    is_view_closed,
    is_view_submission,
    to_action,
)
from slack_bolt.response import BoltResponse
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.core import workspaces
from bot.core.access import NotFound, Policy, Refused
from bot.core.commands import CommandRegistry, wants_help
from bot.core.projector import workspace_of_message
from bot.core.replies import GuardedRespond, guard_request
from bot.core.slack import guard_text
from bot.core.workspaces import Workspace

log = logging.getLogger(__name__)

COMMAND, ACTION, VIEW, SHORTCUT, OPTIONS = "command", "action", "view", "shortcut", "options"
UNDECLARED = "That control is not one I know, so I did nothing."
UNREADABLE = "I could not read that request, so I did nothing."
F = TypeVar("F", bound=Callable[..., Awaitable[Any]])


@dataclass(frozen=True)
class Target:
    """One record a request touches, and what it does to it (a verb of the record's policy)."""

    kind: str
    ref: str
    verb: str


@dataclass(frozen=True)
class Incoming:
    """What a target function reads: the payload and who sent it from where."""

    body: dict[str, Any]
    user: str
    channel: str | None

    @property
    def text(self) -> str:
        return str(self.body.get("text") or "")

    @property
    def action(self) -> dict[str, Any]:
        return to_action(self.body) or {}

    @property
    def view(self) -> dict[str, Any]:
        return self.body.get("view") or {}

    def metadata(self) -> dict[str, Any]:
        """The view's private_metadata as JSON (our modals keep their record refs there)."""
        try:
            value = json.loads(self.view.get("private_metadata") or "{}")
        except ValueError:
            return {}
        return value if isinstance(value, dict) else {}


Targets = Callable[[AsyncSession, Incoming], Awaitable[Sequence[Target]]]


async def no_record(session: AsyncSession, incoming: Incoming) -> Sequence[Target]:
    """For entries that touch no record (help, forms that only open): anyone may use them."""
    return ()


def one(kind: str, verb: str, ref: str | Callable[[Incoming], str | None]) -> Targets:
    """Targets for the common case: one record, named or carried by the payload."""

    async def targets(session: AsyncSession, incoming: Incoming) -> Sequence[Target]:
        found = ref if isinstance(ref, str) else ref(incoming)
        return (Target(kind, found if found is not None else "", verb),)

    return targets


@dataclass(frozen=True)
class Entry:
    type: str
    key: str | re.Pattern[str]
    targets: Targets

    def matches(self, type_: str, key: str) -> bool:
        if self.type != type_:
            return False
        if isinstance(self.key, re.Pattern):
            return bool(self.key.search(key))
        return self.key == key


def request_key(body: dict[str, Any]) -> tuple[str, str] | None:
    """(type, id) of an interactive request; None for events and anything else."""
    if is_slash_command(body):
        return COMMAND, str(body.get("command") or "")
    if is_block_actions(body):
        return ACTION, str((to_action(body) or {}).get("action_id") or "")
    if is_view_submission(body) or is_view_closed(body):
        return VIEW, str(body["view"].get("callback_id") or "")
    if is_shortcut(body):
        return SHORTCUT, str(body.get("callback_id") or "")
    if is_options(body):
        return OPTIONS, str(body.get("action_id") or body.get("callback_id") or "")
    if body.get("type") in ("interactive_message", "dialog_submission", "dialog_suggestion"):
        return ACTION, str(body.get("callback_id") or "")  # legacy kinds we never declare
    return None


def incoming_of(body: dict[str, Any]) -> Incoming:
    """What the gate's target functions read of a request: its payload, sender and channel."""
    return Incoming(body, _user(body), _channel(body))


def _user(body: dict[str, Any]) -> str:
    user = body.get("user")
    return str(user.get("id") if isinstance(user, dict) else body.get("user_id") or "")


def _channel(body: dict[str, Any]) -> str | None:
    channel = body.get("channel")
    if isinstance(channel, dict):
        return channel.get("id")
    return body.get("channel_id")


class Gate:
    def __init__(
        self,
        bolt: AsyncApp,
        policy: Policy,
        sessions: async_sessionmaker[AsyncSession],
        client: AsyncWebClient,
        usages: CommandRegistry,
    ) -> None:
        """`client` tells people why they were refused: build it without retry handlers (a
        blind retry of a post can say it twice) and with a short timeout."""
        self.bolt = bolt
        self.usages = usages
        self.policy = policy
        self.sessions = sessions
        self.client = client
        self.entries: list[Entry] = []
        self._notices: set[asyncio.Task[None]] = set()
        bolt.use(self._middleware)

    # ------------------------------------------------------------------ declarations

    def command(self, name: str, targets: Targets) -> Callable[[F], F]:
        return self._declare(COMMAND, name, targets, self.bolt.command(name))

    def action(self, action_id: str | re.Pattern[str], targets: Targets) -> Callable[[F], F]:
        return self._declare(ACTION, action_id, targets, self.bolt.action(action_id))

    def view(self, callback_id: str, targets: Targets) -> Callable[[F], F]:
        return self._declare(VIEW, callback_id, targets, self.bolt.view(callback_id))

    def shortcut(self, callback_id: str, targets: Targets) -> Callable[[F], F]:
        return self._declare(SHORTCUT, callback_id, targets, self.bolt.shortcut(callback_id))

    def options(self, action_id: str, targets: Targets) -> Callable[[F], F]:
        return self._declare(OPTIONS, action_id, targets, self.bolt.options(action_id))

    def _declare(
        self,
        type_: str,
        key: str | re.Pattern[str],
        targets: Targets,
        register: Callable[[Any], Any],
    ) -> Callable[[F], F]:
        self.entries.append(Entry(type_, key, targets))

        def decorate(listener: F) -> F:
            register(listener)
            return listener

        return decorate

    def find(self, type_: str, key: str) -> Entry | None:
        return next((entry for entry in self.entries if entry.matches(type_, key)), None)

    # ------------------------------------------------------------------ enforcement

    async def _middleware(
        self, req: AsyncBoltRequest, resp: BoltResponse, next: Callable[[], Awaitable[Any]]
    ) -> BoltResponse | None:
        guard_request(req)
        found = request_key(req.body)
        if found is None:
            passed: BoltResponse | None = await next()
            return passed
        type_, key = found
        entry = self.find(type_, key)
        if entry is None:
            log.error("gate: refused undeclared %s %r", type_, key)
            return self._refuse(req, type_, UNDECLARED)
        incoming = incoming_of(req.body)
        origin = await self._origin(req.body)
        if origin is not None:
            # A button on a message, or a form, that a workspace's work made: it is handled
            # within that workspace, whoever's the person (a shared channel, a Grid org).
            workspaces.enter(origin)
        try:
            elsewhere = await self._check(entry, incoming)
            if elsewhere is not None:
                # It acts on a record of another workspace, seen here through a shared
                # channel: that workspace's rules decide, and the listener runs within it.
                with workspaces.within(elsewhere):
                    await self._check(entry, incoming)
                workspaces.enter(elsewhere)
        except Refused as refusal:
            log.info("gate: %s %r refused for %s: %s", type_, key, incoming.user, refusal)
            usage = self.usages.get(key) if type_ == COMMAND else None
            if isinstance(refusal, NotFound) and usage is not None:
                return self._refuse(req, type_, usage.problem(str(refusal)))
            return self._refuse(req, type_, f":no_entry: {refusal}")
        response: BoltResponse | None = await next()
        return response

    async def _origin(self, body: dict[str, Any]) -> Workspace | None:
        """The workspace whose work made what the request acts on, when it is not the one
        the request came from: a modal's (`workspaces.stamped`), or a posted card's."""
        here = workspaces.current()
        if here is None:
            return None
        if is_view_submission(body) or is_view_closed(body):
            made = workspaces.of_view(body.get("view"))
        else:
            made = await self._card_workspace(body)
        return made if made is not None and made.team_id != here.team_id else None

    async def _card_workspace(self, body: dict[str, Any]) -> Workspace | None:
        container = body.get("container")
        if not isinstance(container, dict) or container.get("type") != "message":
            return None
        channel, ts = container.get("channel_id"), container.get("message_ts")
        if not channel or not ts:
            return None
        async with self.sessions() as session:
            return await workspace_of_message(session, str(channel), str(ts))

    async def _check(self, entry: Entry, incoming: Incoming) -> Workspace | None:
        """Returns when the request may go on; raises `Refused` with the reason otherwise.
        Returns the other workspace whose records were all it touches, if it touched only
        records of one other workspace."""
        if entry.type == COMMAND and wants_help(incoming.text):
            return None  # help touches nothing
        actor = self.policy.actor(incoming.user)
        async with self.sessions() as session:
            with workspaces.noting_workspaces(session) as seen:
                try:
                    for target in await entry.targets(session, incoming):
                        await self.policy.check(
                            session, actor, target.kind, target.ref, target.verb
                        )
                except Refused:
                    raise
                except Exception as error:  # unreadable payload, or a check that failed
                    log.warning("gate: cannot check what %r touches: %r", entry.key, error)
                    raise Refused(UNREADABLE) from None
        return workspaces.other_workspace(seen)

    def _refuse(self, req: AsyncBoltRequest, type_: str, text: str) -> BoltResponse:
        """Answer a refused request. The reason can quote what the person typed, so it leaves
        through the same text guard as everything else the bot says."""
        body = req.body
        text = guard_text(text)
        if type_ == COMMAND:
            return _json({"response_type": "ephemeral", "text": text})
        if type_ == OPTIONS:
            return _json({"options": []})
        if type_ == VIEW:
            if is_view_closed(body):
                return BoltResponse(status=200, body="")
            return _json(_view_refusal(body.get("view") or {}, text))
        self._tell_later(body, text)
        return BoltResponse(status=200, body="")

    def _tell_later(self, body: dict[str, Any], text: str) -> None:
        """Buttons and shortcuts are acknowledged at once; the reason follows as an ephemeral."""
        task = asyncio.create_task(self._tell(body, text))
        self._notices.add(task)
        task.add_done_callback(self._notices.discard)

    async def _tell(self, body: dict[str, Any], text: str) -> None:
        user, channel = _user(body), _channel(body)
        try:
            if body.get("response_url"):
                respond = GuardedRespond(response_url=str(body["response_url"]))
                await respond(text=text, response_type="ephemeral", replace_original=False)
            elif channel:
                await self.client.chat_postEphemeral(channel=channel, user=user, text=text)
            elif user:  # App Home has no channel: say it in a DM
                await self.client.chat_postMessage(channel=user, text=text)
        except (SlackApiError, OSError) as error:
            log.info("gate: could not tell %s why: %r", user, error)


def _json(payload: dict[str, Any]) -> BoltResponse:
    return BoltResponse(
        status=200, body=json.dumps(payload), headers={"content-type": ["application/json"]}
    )


def _view_refusal(view: dict[str, Any], text: str) -> dict[str, Any]:
    """A form refused: the reason under its first input, or the form replaced by the reason."""
    inputs = [b.get("block_id") for b in view.get("blocks") or [] if b.get("type") == "input"]
    inputs += list(((view.get("state") or {}).get("values") or {}).keys())
    if inputs and inputs[0]:
        return {"response_action": "errors", "errors": {inputs[0]: text[:150]}}
    return {
        "response_action": "update",
        "view": {
            "type": "modal",
            "title": {"type": "plain_text", "text": "Not allowed"},
            "blocks": [{"type": "section", "text": {"type": "plain_text", "text": text[:2900]}}],
        },
    }
