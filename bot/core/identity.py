"""Who the bot is in Slack (auth.test), learned once and never on the acknowledgement path.

Bolt's single-team authorization calls auth.test on the first request and fails the request when
Slack cannot be reached. Here the identity is fetched in the background and cached; a request
that arrives while it is unknown is still answered. The worker needs it before it hands a
stored event to the event registry, because ignoring the bot's own events depends on it: until
it is known, the stored event waits.
"""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass
from typing import Any

from slack_bolt.authorization import AuthorizeResult
from slack_sdk.web.async_client import AsyncWebClient

from bot.core import workspaces

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Identity:
    team_id: str | None
    user_id: str
    bot_id: str | None


class BotIdentity:
    """`token` is SLACK_BOT_TOKEN's, for `authorize`; in OAuth mode the client asks the
    installation for its token, and requests are authorized from the installation store.

    With `per_workspace` (OAuth mode) the bot is a different user in each workspace that
    installed it: what is known is kept per workspace, and `known`, `fetch` and `current`
    answer for the workspace the running work is within (`bot.core.workspaces`).
    """

    def __init__(
        self,
        client: AsyncWebClient,
        token: str,
        retry_seconds: float = 10.0,
        *,
        per_workspace: bool = False,
    ) -> None:
        self.client = client
        self.token = token
        self.retry_seconds = retry_seconds
        self.per_workspace = per_workspace
        self._known: dict[str, Identity] = {}
        self._last_attempt: dict[str, float] = {}
        self._refreshing: dict[str, asyncio.Task[Identity | None]] = {}

    def _key(self) -> str:
        workspace = workspaces.current() if self.per_workspace else None
        return workspace.team_id if workspace is not None else workspaces.UNKNOWN

    @property
    def known(self) -> Identity | None:
        return self._known.get(self._key())

    @known.setter
    def known(self, identity: Identity | None) -> None:
        if identity is None:
            self._known.pop(self._key(), None)
        else:
            self._known[self._key()] = identity

    async def fetch(self) -> Identity | None:
        """Ask Slack once; the answer is kept for the life of the process."""
        key = self._key()
        if key in self._known:
            return self._known[key]
        self._last_attempt[key] = time.monotonic()
        try:
            response = await self.client.auth_test()  # the client's own token
        except Exception as error:  # Slack unreachable: try again later
            log.warning("auth.test failed, identity unknown for now: %r", error)
            return None
        identity = Identity(response.get("team_id"), response["user_id"], response.get("bot_id"))
        self._known[key] = identity
        return identity

    async def current(self) -> Identity | None:
        """The identity, asking Slack when it is unknown and an attempt is due; else None.

        Callers at the same moment share one auth.test, and a failed one is not repeated
        before `retry_seconds`, however many stored events are waiting for the answer.
        """
        if self.known is None:
            self.refresh_soon()
            refreshing = self._refreshing.get(self._key())
            if refreshing is not None and not refreshing.done():
                await asyncio.shield(refreshing)
        return self.known

    def retry_soon(self) -> None:
        """The next need asks Slack at once, however recent the last failure (OAuth mode: a
        workspace was just installed)."""
        self._last_attempt = {
            key: at for key, at in self._last_attempt.items() if key in self._known
        }

    async def forget(self, workspace: workspaces.Workspace) -> None:
        """The workspace uninstalled the app: an install again may be another bot user."""
        self._known.pop(workspace.team_id, None)

    def refresh_soon(self) -> None:
        key = self._key()
        due = time.monotonic() - self._last_attempt.get(key, float("-inf")) >= self.retry_seconds
        refreshing = self._refreshing.get(key)
        if key not in self._known and due and (refreshing is None or refreshing.done()):
            self._last_attempt[key] = time.monotonic()
            # The task keeps this workspace: it is created within it.
            self._refreshing[key] = asyncio.create_task(self.fetch())

    async def authorize(
        self, enterprise_id: str | None, team_id: str | None, context: Any
    ) -> AuthorizeResult:
        if self.known is None:
            self.refresh_soon()
        known = self.known
        return AuthorizeResult(
            enterprise_id=enterprise_id,
            team_id=team_id or (known.team_id if known else None),
            bot_token=self.token,
            bot_user_id=known.user_id if known else None,
            bot_id=known.bot_id if known else None,
        )
