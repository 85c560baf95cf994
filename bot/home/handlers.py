"""Slack listeners and the projected view of the App Home feature.

A person's home is a projected view (kind `home`, published with views.publish). It is drawn
when they open it and whenever a row it shows changes (`service/watching.py`); the projector sends
it only when it differs from what Slack has, or when Slack has no home view for them.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from slack_sdk.errors import SlackApiError

from bot.core.db import transaction, utcnow
from bot.core.projector import redraw
from bot.home import service, views
from bot.home.service import watching

if TYPE_CHECKING:
    from bot.feature import FeatureContext

log = logging.getLogger(__name__)
HOME = "home"


async def _fresh_timezone(rt: FeatureContext, user: str) -> tuple[bool, str | None]:
    """(asked, zone): the person's Slack time zone when the one kept is stale or missing."""
    async with rt.sessions() as session:
        if not await service.timezone_stale(session, user, utcnow()):
            return False, None
    try:
        response = await rt.client.users_info(user=user)
        zone = str(response["user"].get("tz") or "") or None
        ZoneInfo(zone or "UTC")
    except (SlackApiError, ZoneInfoNotFoundError, ValueError) as error:
        log.info("no time zone for %s: %r", user, error)
        zone = None
    return True, zone


def register(rt: FeatureContext) -> None:
    """Wire the feature into the runtime (listeners, routes, tasks, views, jobs, usage)."""

    async def load(_session: Any, user: str) -> service.HomeState:
        # Each section is read in its own session, so one feature's trouble leaves the rest.
        return await service.home_state(rt.sessions, rt.settings, user)

    rt.projector.register(HOME, load, views.home, watches=watching.watches())

    async def home_opened(event: dict[str, Any], body: dict[str, Any]) -> None:
        if event.get("tab", "home") != "home" or not event.get("user"):
            return
        user = str(event["user"])
        asked, zone = await _fresh_timezone(rt, user)  # before the write: one redraw, not two
        async with transaction(rt.sessions) as session:
            await service.opened(session, user)
            if asked:
                await service.store_timezone(session, user, zone)
            if "view" not in event:  # Slack shows nothing yet: send it even if unchanged
                await redraw(session, HOME, user)

    rt.events.on("app_home_opened", home_opened)
