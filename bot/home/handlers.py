"""Slack listeners, the publish task and the refresh job of the App Home feature.

Home is published with views.publish by a durable task (see service.py for the coalescing).
It is marked for publishing when the person opens it, after any button they press on it, and by
a minute job that re-renders the homes people use and publishes those whose content changed,
which is how changes made by other features (a new incident role, a task finishing) show up.
"""

from __future__ import annotations

import hashlib
import json
import logging
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from slack_bolt.request.async_request import AsyncBoltRequest
from slack_bolt.response import BoltResponse
from slack_sdk.errors import SlackApiError

from bot.core.db import transaction, utcnow
from bot.core.scheduler import JobSpec
from bot.home import service, views

if TYPE_CHECKING:
    from bot.app import Runtime

log = logging.getLogger(__name__)
REFRESH_JOB = "home.refresh"
# Slack will not take this home now or ever: stop trying instead of retrying for hours.
FINAL_ERRORS = {"user_not_found", "account_inactive", "not_enabled", "invalid_auth"}


async def render(rt: Runtime, user: str) -> tuple[dict[str, Any], str]:
    state = await service.home_state(rt.sessions, rt.settings, user)
    view = views.home_view(state)
    digest = hashlib.sha256(json.dumps(view, sort_keys=True).encode()).hexdigest()
    return view, digest


async def _refresh_timezone(rt: Runtime, user: str) -> None:
    async with rt.sessions() as session:
        if not await service.timezone_stale(session, user, utcnow()):
            return
    try:
        response = await rt.client.users_info(user=user)
        zone = str(response["user"].get("tz") or "") or None
        ZoneInfo(zone or "UTC")
    except (SlackApiError, ZoneInfoNotFoundError, ValueError) as error:
        log.info("no time zone for %s: %r", user, error)
        zone = None
    async with transaction(rt.sessions) as session:
        await service.store_timezone(session, user, zone)


async def publish(rt: Runtime, user: str) -> None:
    async with rt.sessions() as session:
        known = await service.wanted_version(session, user)
    if known is None:
        return
    await _refresh_timezone(rt, user)
    view, digest = await render(rt, user)
    if service.changed(digest, known):
        try:
            await rt.client.views_publish(user_id=user, view=view)
        except SlackApiError as error:
            if error.response.get("error") not in FINAL_ERRORS:
                raise
            log.warning("home of %s not published: %s", user, error.response.get("error"))
    async with transaction(rt.sessions) as session:
        await service.record_published(session, user, known[0], digest)


async def refresh(rt: Runtime) -> int:
    """Mark every used home whose content changed; how many were marked."""
    async with rt.sessions() as session:
        users = await service.active_users(session, utcnow())
    marked = 0
    for user in users:
        _, digest = await render(rt, user)
        async with transaction(rt.sessions) as session:
            if service.changed(digest, await service.wanted_version(session, user)):
                await service.mark_dirty(session, user)
                marked += 1
    return marked


def _from_home(body: dict[str, Any]) -> str | None:
    """The user who pressed a button on their App Home, if that is what this request is."""
    view = body.get("view") or {}
    if body.get("type") == "block_actions" and view.get("type") == "home":
        return str((body.get("user") or {}).get("id") or "") or None
    return None


def register(rt: Runtime) -> None:
    """Wire the feature into the runtime (listeners, routes, tasks, views, jobs, usage)."""

    async def home_opened(event: dict[str, Any], body: dict[str, Any]) -> None:
        if event.get("tab", "home") != "home" or not event.get("user"):
            return
        async with transaction(rt.sessions) as session:
            # No view in the event means Slack shows nothing yet: publish even if unchanged.
            await service.mark_dirty(
                session, str(event["user"]), opened=True, force="view" not in event
            )

    rt.events.on("app_home_opened", home_opened)

    async def after_home_buttons(
        req: AsyncBoltRequest, resp: BoltResponse, next: Any
    ) -> BoltResponse | None:
        response: BoltResponse | None = await next()
        user = _from_home(req.body)
        if user:
            # The feature that owns the button changed its state; show the result at once.
            async with transaction(rt.sessions) as session:
                await service.mark_dirty(session, user)
        return response

    rt.bolt.use(after_home_buttons)

    async def publish_task(payload: dict[str, Any]) -> None:
        await publish(rt, str(payload["user"]))

    async def refresh_job() -> None:
        await refresh(rt)

    rt.tasks.register(service.TASK_PUBLISH, publish_task)
    rt.scheduler.register(
        JobSpec(
            name=REFRESH_JOB,
            func=refresh_job,
            description="publish again the App Homes whose content changed",
            every_seconds=60,
        )
    )
