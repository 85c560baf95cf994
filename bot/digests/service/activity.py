"""Channel activity: what digests count, stored from message and reaction events, and how long
its text is kept.

Every write is idempotent (unique rows, deletes by key) because an event may be replayed after a
crash. Opted-out channels store nothing. The figures are aggregate queries over indexed columns,
so a day of a busy channel is counted by the database, not by Python loops over rows.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

from sqlalchemy import ColumnElement, and_, delete, distinct, exists, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from bot.config import Settings
from bot.core.db import affected, insert_ignore, table_of, utcnow
from bot.core.security import redact_secrets
from bot.digests.models import ActivityMessage, ActivityOptOut, ActivityReaction

# Rows (not their text) are kept at least this long, so a short text retention never makes a
# weekly digest miscount.
MIN_ROW_DAYS = 35
MAX_TEXT = 4000
_MARKUP = re.compile(r"<[^<>]*>")


def activity_retention(settings: Settings) -> dt.timedelta:
    """How long message text is kept: the `activity_retention_days` setting."""
    return dt.timedelta(days=float(settings.activity_retention_days))


def ts_time(ts: str) -> dt.datetime:
    """The moment a Slack ts stands for (seconds since the epoch, UTC)."""
    return dt.datetime.fromtimestamp(float(ts), dt.UTC)


def is_question(text: str) -> bool:
    # Links and mentions are markup in <...>; a "?" inside a URL's query is not a question.
    return "?" in _MARKUP.sub(" ", text or "")


def _stored_text(text: str) -> str:
    return redact_secrets(text or "")[:MAX_TEXT]


async def opted_out(session: AsyncSession, channel: str) -> bool:
    return channel in await opted_out_of(session, {channel})


async def opted_out_of(session: AsyncSession, channels: set[str]) -> set[str]:
    """Which of `channels` opted out, in one query."""
    found = await session.scalars(
        select(ActivityOptOut.channel).where(ActivityOptOut.channel.in_(sorted(channels)))
    )
    return set(found)


@dataclass(frozen=True)
class NewMessage:
    """A message as a message event first shows it."""

    channel: str
    ts: str
    user: str
    text: str
    thread_ts: str | None = None


def _message_values(
    channel: str, ts: str, user: str, text: str, thread_ts: str | None
) -> dict[str, object]:
    parent = thread_ts if thread_ts and thread_ts != ts else None
    return {
        "channel": channel,
        "ts": ts,
        "thread_ts": parent,
        "user_id": user,
        "posted_at": ts_time(ts),
        "is_question": parent is None and is_question(text),
        "text": _stored_text(text),
        "deleted": False,
    }


async def record_messages(session: AsyncSession, messages: list[NewMessage]) -> int:
    """Store new messages (a reply when thread_ts names another message), a batch to one
    statement; how many were not in opted-out channels.

    Rows already there (an edit or a deletion got there first, or a replay) are left as they are.
    """
    if not messages:
        return 0
    out = await opted_out_of(session, {message.channel for message in messages})
    rows = [
        _message_values(message.channel, message.ts, message.user, message.text,
                        message.thread_ts)
        for message in messages
        if message.channel not in out
    ]  # fmt: skip
    if rows:
        # The table, not the mapped class: a plain executemany, without the ORM's bulk path.
        statement = insert_ignore(session, table_of(ActivityMessage)).on_conflict_do_nothing(
            index_elements=["team_id", "channel", "ts"]
        )
        await session.execute(statement, rows)
    return len(rows)


async def record_edit(
    session: AsyncSession,
    *,
    channel: str,
    ts: str,
    user: str,
    text: str,
    thread_ts: str | None = None,
    edited_at: dt.datetime | None = None,
) -> bool:
    """The new text of an edited message (stored now if its creation was not seen yet)."""
    if await opted_out(session, channel):
        return False
    values = _message_values(channel, ts, user, text, thread_ts)
    statement = insert_ignore(session, ActivityMessage).values(**values, edited_at=edited_at)
    statement = statement.on_conflict_do_update(
        index_elements=["team_id", "channel", "ts"],
        set_={
            "text": values["text"],
            "is_question": values["is_question"],
            "edited_at": edited_at or utcnow(),
        },
        where=ActivityMessage.deleted.is_(False),
    )
    return affected(await session.execute(statement)) > 0


async def record_deletion(
    session: AsyncSession, *, channel: str, ts: str, user: str | None, thread_ts: str | None
) -> None:
    """Forget the text and reactions; keep a marker row so the message stays deleted."""
    if await opted_out(session, channel):
        return
    await session.execute(
        delete(ActivityReaction).where(
            ActivityReaction.channel == channel, ActivityReaction.ts == ts
        )
    )
    values = {**_message_values(channel, ts, user or "", "", thread_ts), "deleted": True}
    statement = insert_ignore(session, ActivityMessage).values(**{**values, "text": None})
    statement = statement.on_conflict_do_update(
        index_elements=["team_id", "channel", "ts"],
        set_={"deleted": True, "text": None, "is_question": False},
    )
    await session.execute(statement)


async def _set_reaction(
    session: AsyncSession, *, channel: str, ts: str, user: str, name: str, at: dt.datetime, on: bool
) -> None:
    values = {"channel": channel, "ts": ts, "user_id": user, "name": name[:100]}
    statement = insert_ignore(session, ActivityReaction).values(**values, present=on, changed_at=at)
    statement = statement.on_conflict_do_update(
        index_elements=["team_id", "channel", "ts", "user_id", "name"],
        set_={"present": on, "changed_at": at},
        where=ActivityReaction.changed_at < at,
    )
    await session.execute(statement)


async def add_reaction(
    session: AsyncSession, *, channel: str, ts: str, user: str, name: str, at: dt.datetime
) -> bool:
    if await opted_out(session, channel):
        return False
    await _set_reaction(session, channel=channel, ts=ts, user=user, name=name, at=at, on=True)
    return True


async def remove_reaction(
    session: AsyncSession, *, channel: str, ts: str, user: str, name: str, at: dt.datetime
) -> None:
    if not await opted_out(session, channel):
        await _set_reaction(session, channel=channel, ts=ts, user=user, name=name, at=at, on=False)


async def opt_out(session: AsyncSession, channel: str, user: str) -> int:
    """Stop storing the channel's activity and forget what was stored; how many messages went."""
    statement = (
        insert_ignore(session, ActivityOptOut)
        .values(channel=channel, by_user=user, at=utcnow())
        .on_conflict_do_nothing(index_elements=["channel"])
    )
    await session.execute(statement)
    await session.execute(delete(ActivityReaction).where(ActivityReaction.channel == channel))
    result = await session.execute(
        delete(ActivityMessage).where(ActivityMessage.channel == channel)
    )
    return affected(result)


async def opt_in(session: AsyncSession, channel: str) -> ActivityOptOut | None:
    """Store the channel's activity again; the opt-out that was lifted, if there was one."""
    row = await session.get(ActivityOptOut, channel)
    if row is not None:
        await session.delete(row)
    return row


async def purge(session: AsyncSession, now: dt.datetime, retention: dt.timedelta) -> int:
    """Forget text past its retention, and rows no digest will count again; texts cleared."""
    text_cutoff = now - retention
    row_cutoff = now - max(retention, dt.timedelta(days=MIN_ROW_DAYS))
    cleared = await session.execute(
        update(ActivityMessage)
        .where(ActivityMessage.posted_at < text_cutoff, ActivityMessage.text.is_not(None))
        .values(text=None)
    )
    await session.execute(delete(ActivityMessage).where(ActivityMessage.posted_at < row_cutoff))
    await session.execute(delete(ActivityReaction).where(ActivityReaction.changed_at < row_cutoff))
    return affected(cleared)


# ------------------------------------------------------------------ figures for digests


@dataclass(frozen=True)
class Thread:
    ts: str
    user: str | None
    text: str | None
    replies: int


@dataclass(frozen=True)
class Question:
    ts: str
    user: str
    text: str | None
    posted_at: dt.datetime


@dataclass(frozen=True)
class ActivityFigures:
    messages: int
    people: int
    reactions: int
    threads: list[Thread]
    unanswered: list[Question]
    unanswered_total: int

    @property
    def empty(self) -> bool:
        return not (self.messages or self.reactions or self.unanswered_total)


def _in_window(channel: str, start: dt.datetime, end: dt.datetime) -> list[ColumnElement[bool]]:
    return [
        ActivityMessage.channel == channel,
        ActivityMessage.posted_at >= start,
        ActivityMessage.posted_at < end,
        ActivityMessage.deleted.is_(False),
    ]


async def _busiest_threads(
    session: AsyncSession, channel: str, start: dt.datetime, end: dt.datetime, limit: int
) -> list[Thread]:
    replies = func.count(ActivityMessage.id).label("replies")
    ranked = (
        await session.execute(
            select(ActivityMessage.thread_ts, replies)
            .where(*_in_window(channel, start, end), ActivityMessage.thread_ts.is_not(None))
            .group_by(ActivityMessage.thread_ts)
            .order_by(replies.desc(), ActivityMessage.thread_ts)
            .limit(limit)
        )
    ).all()
    parents = {
        row.ts: row
        for row in await session.scalars(
            select(ActivityMessage).where(
                ActivityMessage.channel == channel,
                ActivityMessage.ts.in_([thread_ts for thread_ts, _ in ranked]),
            )
        )
    }
    result = []
    for thread_ts, count in ranked:
        parent = parents.get(thread_ts) if thread_ts is not None else None
        user, text = (parent.user_id, parent.text) if parent else (None, None)
        result.append(Thread(str(thread_ts), user, text, int(count)))
    return result


def _unanswered_query(
    channel: str, start: dt.datetime, end: dt.datetime
) -> list[ColumnElement[bool]]:
    reply = aliased(ActivityMessage)
    answered = exists().where(
        and_(
            reply.channel == ActivityMessage.channel,
            reply.thread_ts == ActivityMessage.ts,
            reply.user_id != ActivityMessage.user_id,
            reply.deleted.is_(False),
        )
    )
    # No thread_ts condition: is_question is only set on top-level messages, and naming
    # thread_ts here would lead SQLite to the thread index instead of the question index.
    return [*_in_window(channel, start, end), ActivityMessage.is_question.is_(True), ~answered]


async def figures(
    session: AsyncSession,
    channel: str,
    start: dt.datetime,
    end: dt.datetime,
    *,
    unanswered_after: dt.timedelta,
    top: int = 3,
) -> ActivityFigures:
    """Counts for [start, end) in one channel.

    A question is listed in the first digest after it went `unanswered_after` without a reply
    from someone else: asked in [start - after, end - after), so consecutive digests tile.
    """
    messages, people = (
        await session.execute(
            select(
                func.count(ActivityMessage.id), func.count(distinct(ActivityMessage.user_id))
            ).where(*_in_window(channel, start, end))
        )
    ).one()
    # A reaction event handled after its message's deletion leaves a row: never counted.
    deleted = exists().where(
        ActivityMessage.channel == ActivityReaction.channel,
        ActivityMessage.ts == ActivityReaction.ts,
        ActivityMessage.deleted.is_(True),
    )
    reactions = await session.scalar(
        select(func.count(ActivityReaction.id)).where(
            ActivityReaction.channel == channel,
            ActivityReaction.changed_at >= start,
            ActivityReaction.changed_at < end,
            ActivityReaction.present.is_(True),
            ~deleted,
        )
    )
    where = _unanswered_query(channel, start - unanswered_after, end - unanswered_after)
    unanswered_total = await session.scalar(select(func.count(ActivityMessage.id)).where(*where))
    questions = await session.scalars(
        select(ActivityMessage).where(*where).order_by(ActivityMessage.posted_at).limit(top + 2)
    )
    return ActivityFigures(
        messages=int(messages or 0),
        people=int(people or 0),
        reactions=int(reactions or 0),
        threads=await _busiest_threads(session, channel, start, end, top),
        unanswered=[Question(q.ts, q.user_id, q.text, q.posted_at) for q in questions],
        unanswered_total=int(unanswered_total or 0),
    )


async def stored_count(session: AsyncSession, channel: str) -> int:
    return int(
        await session.scalar(
            select(func.count(ActivityMessage.id)).where(
                ActivityMessage.channel == channel, ActivityMessage.deleted.is_(False)
            )
        )
        or 0
    )
