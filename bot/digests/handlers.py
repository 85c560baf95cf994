"""Slack listeners, tasks, the digest view and the jobs of the digests feature.

Message and reaction events come through the core's event fan-out (`rt.events`), which other
features share.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sqlalchemy.ext.asyncio import AsyncSession

from bot.core.access import CHANNEL, CONFIGURE, SEE
from bot.core.commands import Subcommand, UsageError, split_args
from bot.core.db import transaction, utcnow
from bot.core.events import Stored
from bot.core.gate import Incoming, Target
from bot.core.scheduler import JobSpec
from bot.core.watches import Watch
from bot.digests import service
from bot.digests.models import DigestRun
from bot.digests.service import activity, loaders
from bot.digests.service.commands import USAGE_LINES
from bot.digests.views import digest_view
from bot.digests.workflows import commands, runner

if TYPE_CHECKING:
    from bot.feature import FeatureContext

# Plain messages people write; joins, topics, bot posts and the like are not activity.
HUMAN_SUBTYPES = {None, "thread_broadcast", "file_share", "me_message"}
CHANNEL_TYPES = {"channel", "group", None}


def from_bot(message: dict[str, Any], bot_user_id: str | None) -> bool:
    user = message.get("user")
    return bool(
        message.get("bot_id")
        or message.get("subtype") == "bot_message"
        or not user
        or (bot_user_id and user == bot_user_id)
    )


def _edited_at(message: dict[str, Any]) -> Any:
    edited = message.get("edited") or {}
    return activity.ts_time(edited["ts"]) if edited.get("ts") else None


def new_message(event: dict[str, Any], bot_user_id: str | None) -> activity.NewMessage | None:
    """The message a plain message event posts, if it is activity to keep."""
    channel = event.get("channel")
    if not channel or event.get("channel_type") not in CHANNEL_TYPES:
        return None
    if event.get("subtype") not in HUMAN_SUBTYPES or not event.get("ts"):
        return None
    if from_bot(event, bot_user_id):
        return None
    return activity.NewMessage(
        channel=channel,
        ts=event["ts"],
        user=event["user"],
        text=event.get("text") or "",
        thread_ts=event.get("thread_ts"),
    )


async def store_message_events(
    session: AsyncSession, events: list[dict[str, Any]], bot_user_id: str | None
) -> None:
    """Store message events in order; each run of new messages is one statement."""
    run: list[activity.NewMessage] = []
    for event in events:
        message = new_message(event, bot_user_id)
        if message is not None:
            run.append(message)
            continue
        await activity.record_messages(session, run)
        run = []
        await store_change_event(session, event, bot_user_id)
    await activity.record_messages(session, run)


async def store_change_event(
    session: AsyncSession, event: dict[str, Any], bot_user_id: str | None
) -> None:
    """An edit or a deletion (other subtypes are not activity)."""
    channel = event.get("channel")
    if not channel or event.get("channel_type") not in CHANNEL_TYPES:
        return
    subtype = event.get("subtype")
    if subtype == "message_changed":
        message = event.get("message") or {}
        if message.get("ts") and not from_bot(message, bot_user_id):
            await activity.record_edit(
                session,
                channel=channel,
                ts=message["ts"],
                user=message["user"],
                text=message.get("text") or "",
                thread_ts=message.get("thread_ts"),
                edited_at=_edited_at(message),
            )
    elif subtype == "message_deleted":
        previous = event.get("previous_message") or {}
        ts = event.get("deleted_ts") or previous.get("ts")
        if ts and not (previous and from_bot(previous, bot_user_id)):
            await activity.record_deletion(
                session,
                channel=channel,
                ts=ts,
                user=previous.get("user"),
                thread_ts=previous.get("thread_ts"),
            )


async def store_reaction_event(
    session: AsyncSession, event: dict[str, Any], bot_user_id: str | None
) -> None:
    item = event.get("item") or {}
    user = event.get("user")
    if item.get("type") != "message" or not user or user == bot_user_id:
        return
    channel, ts, name = item.get("channel"), item.get("ts"), event.get("reaction")
    if not (channel and ts and name):
        return
    at = activity.ts_time(event["event_ts"]) if event.get("event_ts") else utcnow()
    change = (
        activity.add_reaction if event["type"] == "reaction_added" else activity.remove_reaction
    )
    await change(session, channel=channel, ts=ts, user=user, name=name, at=at)


def bot_user_id(rt: FeatureContext, body: dict[str, Any]) -> str | None:
    if rt.identity.known is not None:
        return rt.identity.known.user_id
    for authorization in body.get("authorizations") or []:
        if authorization.get("is_bot") and authorization.get("user_id"):
            return str(authorization["user_id"])
    return None


def _register_events(rt: FeatureContext) -> None:
    # Activity rows only: written in the transaction that completes the stored events.
    async def on_messages(session: AsyncSession, items: list[Stored]) -> None:
        if items:
            await store_message_events(
                session, [event for event, _ in items], bot_user_id(rt, items[0][1])
            )

    rt.events.record("message", on_messages)

    async def on_reaction(session: AsyncSession, items: list[Stored]) -> None:
        for event, body in items:
            await store_reaction_event(session, event, bot_user_id(rt, body))

    rt.events.record("reaction_added", on_reaction)
    rt.events.record("reaction_removed", on_reaction)


def _register_jobs(rt: FeatureContext) -> None:
    async def sweep() -> None:
        await runner.sweep(rt)

    async def purge() -> None:
        async with transaction(rt.sessions) as session:
            await activity.purge(session, utcnow(), activity.activity_retention(rt.settings))

    rt.scheduler.register(
        JobSpec(
            name="digests.sweep",
            func=sweep,
            description="create the runs of digests that are due (config file and /ops digest)",
            every_seconds=60,
        )
    )
    rt.scheduler.register(
        JobSpec(
            name="digests.purge_activity",
            func=purge,
            description="forget channel message text past its retention",
            cron="41 3 * * *",
        )
    )


async def channel_targets(session: AsyncSession, incoming: Incoming) -> list[Target]:
    """A channel's digests and activity belong to it: its members and admins change them, its
    readers may ask what they are."""
    try:
        args = split_args(incoming.text)
    except UsageError:
        return []
    if not incoming.channel or not args:
        return []
    asks = len(args) == 1 or (args[0].lower() == "activity" and args[1].lower() == "status")
    return [Target(CHANNEL, incoming.channel, SEE if asks else CONFIGURE)]


def _register_subcommands(rt: FeatureContext) -> None:
    async def digest(args: list[str], user: str, channel: str) -> str:
        return await commands.digest_command(rt, args, user, channel)

    async def activity_(args: list[str], user: str, channel: str) -> str:
        return await commands.activity_command(rt, args, user, channel, rt.settings.here().admins)

    lines = USAGE_LINES
    rt.commands.add_subcommand("/ops", Subcommand("digest", digest, channel_targets, lines[:-1]))
    rt.commands.add_subcommand(
        "/ops", Subcommand("activity", activity_, channel_targets, lines[-1:])
    )


def register(rt: FeatureContext) -> None:
    """Wire the feature into the runtime (listeners, routes, tasks, views, jobs, usage)."""
    _register_events(rt)
    _register_jobs(rt)
    _register_subcommands(rt)
    # A run's digest is posted once the run is ready (its snapshot taken), and redrawn with it.
    ready = Watch(DigestRun, lambda run: [run.id] if run.status == "ready" else [])
    rt.projector.register(service.VIEW, loaders.load, digest_view, watches=[ready])

    async def build(payload: dict[str, Any]) -> None:
        await runner.build(rt, payload)

    async def chart(payload: dict[str, Any]) -> None:
        await runner.upload_chart(rt, payload)

    rt.tasks.register(service.TASK_BUILD, build)
    rt.tasks.register(service.TASK_CHART, chart)
