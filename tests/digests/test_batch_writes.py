"""Message events completing together are stored a run to one statement, in order."""

from __future__ import annotations

from typing import Any

from sqlalchemy import event, select

from bot.core.db import make_engine, make_sessionmaker, transaction
from bot.digests.handlers import store_message_events
from bot.digests.models import ActivityMessage
from bot.digests.service import activity


def _message(channel: str, ts: str, text: str, **extra: Any) -> dict[str, Any]:
    return {"type": "message", "channel": channel, "channel_type": "channel", "user": "U0ALICE",
            "text": text, "ts": ts, **extra}  # fmt: skip


async def test_a_run_of_new_messages_is_one_insert_and_changes_keep_their_place(
    db_url: str,
) -> None:
    engine = make_engine(db_url)
    sessions = make_sessionmaker(engine)
    async with transaction(sessions) as session:
        await activity.opt_out(session, "C0QUIET", "U0BOB")
    inserts: list[tuple[bool, int]] = []

    def count(_c: Any, _cur: Any, statement: str, params: Any, _ctx: Any, many: bool) -> None:
        if statement.startswith("INSERT INTO activity_messages"):
            inserts.append((many, len(params) if many else 1))

    event.listen(engine.sync_engine, "before_cursor_execute", count)
    events = [
        _message("C0GENERAL", "1.000001", "first"),
        _message("C0GENERAL", "1.000002", "second?"),
        _message("C0QUIET", "1.000003", "opted out: not kept"),
        {
            "type": "message",
            "subtype": "message_changed",
            "channel": "C0GENERAL",
            "channel_type": "channel",
            "ts": "1.000009",
            "message": {
                "user": "U0ALICE",
                "ts": "1.000001",
                "text": "first, edited",
                "edited": {"ts": "1.000009"},
            },
        },  # fmt: skip
        _message("C0GENERAL", "1.000004", "third", thread_ts="1.000002"),
        _message("C0GENERAL", "1.000005", "fourth"),
        {
            "type": "message",
            "subtype": "message_deleted",
            "channel": "C0GENERAL",
            "channel_type": "channel",
            "ts": "1.000010",
            "deleted_ts": "1.000005",
            "previous_message": {"user": "U0ALICE", "ts": "1.000005"},
        },  # fmt: skip
        _message("C0GENERAL", "1.000006", "from the bot", bot_id="B0OPSBOT"),
    ]
    async with transaction(sessions) as session:
        await store_message_events(session, events, "U0OPSBOT")
    event.remove(engine.sync_engine, "before_cursor_execute", count)

    async with sessions() as session:
        rows = (await session.scalars(select(ActivityMessage).order_by(ActivityMessage.ts))).all()
    assert [(row.ts, row.text, row.deleted, row.is_question, row.thread_ts) for row in rows] == [
        ("1.000001", "first, edited", False, False, None),
        ("1.000002", "second?", False, True, None),
        ("1.000004", "third", False, False, "1.000002"),
        ("1.000005", None, True, False, None),
    ]
    # Two runs of new messages (before and after the edit), each one executemany; the edit and
    # the deletion are one upsert each.
    assert inserts[0] == (True, 2) and inserts[2] == (True, 2)
    assert len(inserts) == 4
    await engine.dispose()
