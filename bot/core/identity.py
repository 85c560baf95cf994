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

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Identity:
    team_id: str | None
    user_id: str
    bot_id: str | None


class BotIdentity:
    """`token` is SLACK_BOT_TOKEN's, for `authorize`; in OAuth mode the client asks the
    installation for its token, and requests are authorized from the installation store."""

    def __init__(self, client: AsyncWebClient, token: str, retry_seconds: float = 10.0) -> None:
        self.client = client
        self.token = token
        self.retry_seconds = retry_seconds
        self.known: Identity | None = None
        self._last_attempt = float("-inf")
        self._refreshing: asyncio.Task[Identity | None] | None = None

    async def fetch(self) -> Identity | None:
        """Ask Slack once; the answer is kept for the life of the process."""
        if self.known is not None:
            return self.known
        self._last_attempt = time.monotonic()
        try:
            response = await self.client.auth_test()  # the client's own token
        except Exception as error:  # Slack unreachable: try again later
            log.warning("auth.test failed, identity unknown for now: %r", error)
            return None
        self.known = Identity(response.get("team_id"), response["user_id"], response.get("bot_id"))
        return self.known

    async def current(self) -> Identity | None:
        """The identity, asking Slack when it is unknown and an attempt is due; else None.

        Callers at the same moment share one auth.test, and a failed one is not repeated
        before `retry_seconds`, however many stored events are waiting for the answer.
        """
        if self.known is None:
            self.refresh_soon()
            if self._refreshing is not None and not self._refreshing.done():
                await asyncio.shield(self._refreshing)
        return self.known

    def retry_soon(self) -> None:
        """The next need asks Slack at once, however recent the last failure (OAuth mode: a
        workspace was just installed)."""
        if self.known is None:
            self._last_attempt = float("-inf")

    def refresh_soon(self) -> None:
        due = time.monotonic() - self._last_attempt >= self.retry_seconds
        if self.known is None and due and (self._refreshing is None or self._refreshing.done()):
            self._last_attempt = time.monotonic()
            self._refreshing = asyncio.create_task(self.fetch())

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
