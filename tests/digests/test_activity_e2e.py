"""Channel activity through signed events: stored, edited, deleted, ignored, opted out."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select

from bot.core.db import utcnow
from bot.digests.models import ActivityMessage, ActivityOptOut, ActivityReaction
from bot.digests.service import activity
from bot.sandbox.harness import BotUnderTest
from bot.sandbox.seed import ALICE, BOB, CAROL, DAVE, GENERAL, STANDUP
from tests.digests.conftest import count, digest_bot, ops, stored


async def test_messages_replies_edits_and_deletions_are_reflected(db_url: str) -> None:
    async with digest_bot(db_url) as bot:
        parent = await bot.slack.user_message(GENERAL, ALICE, "Who owns the billing cron?")
        reply = await bot.slack.user_message(GENERAL, BOB, "Carol does", thread_ts=parent)
        typo = await bot.slack.user_message(GENERAL, CAROL, "teh deploy is done")
        gone = await bot.slack.user_message(GENERAL, DAVE, "wrong channel, sorry")
        await bot.settle()
        rows = {row.ts: row for row in await stored(bot)}
        assert set(rows) == {parent, reply, typo, gone}
        assert rows[parent].is_question and rows[parent].thread_ts is None
        assert rows[reply].thread_ts == parent and rows[reply].user_id == BOB
        assert rows[typo].text == "teh deploy is done"

        await bot.slack.user_edit(GENERAL, typo, "Is the deploy done?")
        await bot.slack.user_delete(GENERAL, gone)
        await bot.settle()
        rows = {row.ts: row for row in await stored(bot)}
        assert set(rows) == {parent, reply, typo}
        assert rows[typo].text == "Is the deploy done?" and rows[typo].is_question
        assert rows[typo].edited_at is not None

        await bot.slack.user_edit(GENERAL, typo, "The deploy is done.")
        await bot.settle()
        assert not {row.ts: row for row in await stored(bot)}[typo].is_question


async def test_bot_messages_and_the_bots_own_are_ignored(db_url: str) -> None:
    async with digest_bot(db_url) as bot:
        state = bot.state
        base = {"type": "message", "channel": GENERAL, "channel_type": "channel"}
        own = state.post(GENERAL, state.bot_user_id, "a card")
        await bot.slack.event({**base, "user": state.bot_user_id, "text": own.text, "ts": own.ts})
        other = {"subtype": "bot_message", "bot_id": "B0OTHER", "text": "deploy ok"}
        await bot.slack.event({**base, **other, "ts": state.next_ts()})
        app_post = {"user": "U0APPUSER", "bot_id": "B0OTHER", "text": "hi"}
        await bot.slack.event({**base, **app_post, "ts": state.next_ts()})
        joined = {"subtype": "channel_join", "user": BOB, "text": "<@U0BOB> joined"}
        await bot.slack.event({**base, **joined, "ts": state.next_ts()})
        dm = {**base, "channel": "D0ALICE", "channel_type": "im", "user": ALICE, "text": "hey"}
        await bot.slack.event({**dm, "ts": state.next_ts()})
        await bot.slack.user_message(GENERAL, ALICE, "a person")
        await bot.settle()
        assert [row.text for row in await stored(bot)] == ["a person"]
        assert await count(bot, ActivityMessage) == 1


async def test_reactions_are_counted_once_per_person(db_url: str) -> None:
    async with digest_bot(db_url) as bot:
        ts = await bot.slack.user_message(GENERAL, ALICE, "Shipped!")
        await bot.slack.user_react(GENERAL, ts, BOB, "tada")
        await bot.slack.user_react(GENERAL, ts, CAROL, "tada")
        await bot.slack.user_react(GENERAL, ts, CAROL, "eyes")
        await bot.slack.user_unreact(GENERAL, ts, CAROL, "eyes")
        await bot.settle()
        redelivered = await bot.slack.redeliver()  # Slack's retry of the last event
        assert redelivered.status_code == 200
        await bot.settle()
        assert await reactions(bot) == [(BOB, "tada"), (CAROL, "tada")]


async def test_events_processed_out_of_order_end_as_slack_shows(db_url: str) -> None:
    """The inbox replays events concurrently: a removal or deletion may be seen first."""
    async with digest_bot(db_url) as bot:
        state, base = bot.state, {"channel": GENERAL, "channel_type": "channel"}
        msg = state.post(GENERAL, ALICE, "Anyone around?")
        react = {"type": "reaction_added", "user": BOB, "reaction": "wave"}
        item = {"item": {"type": "message", "channel": GENERAL, "ts": msg.ts}}
        added_ts, removed_ts = state.next_ts(), state.next_ts()
        unreact = {**react, **item, "type": "reaction_removed", "event_ts": removed_ts}
        await bot.slack.event(unreact)
        await bot.settle()
        await bot.slack.event({**react, **item, "event_ts": added_ts})
        await bot.settle()
        assert await reactions(bot) == []  # the removal came later in Slack's time: it wins
        deleted = {"subtype": "message_deleted", "deleted_ts": msg.ts, "ts": state.next_ts()}
        previous = {"previous_message": {"type": "message", "user": ALICE, "ts": msg.ts}}
        await bot.slack.event({"type": "message", **base, **deleted, **previous})
        await bot.settle()
        # Carol's reaction, made before the deletion, is handled after it.
        await bot.slack.event({**react, **item, "user": CAROL, "event_ts": added_ts})
        created = {"type": "message", **base, "user": ALICE, "text": msg.text, "ts": msg.ts}
        await bot.slack.event(created)
        await bot.settle()
        assert await stored(bot) == []
        async with bot.rt.sessions() as session:
            day = activity.ts_time(msg.ts)
            seen = await activity.figures(
                session,
                GENERAL,
                day - dt.timedelta(hours=1),
                day + dt.timedelta(hours=1),
                unanswered_after=dt.timedelta(hours=4),
            )
        assert (seen.messages, seen.reactions) == (0, 0)


async def reactions(bot: BotUnderTest) -> list[tuple[str, str]]:
    async with bot.rt.sessions() as session:
        found = await session.execute(
            select(ActivityReaction.user_id, ActivityReaction.name).where(
                ActivityReaction.present.is_(True)
            )
        )
        return sorted((user, name) for user, name in found.all())


async def test_opted_out_channel_stores_nothing(db_url: str) -> None:
    async with digest_bot(db_url) as bot:
        kept = await bot.slack.user_message(GENERAL, ALICE, "kept, other channel", thread_ts=None)
        before = await bot.slack.user_message(STANDUP, BOB, "stored before opting out")
        await bot.slack.user_react(STANDUP, before, CAROL, "eyes")
        await bot.settle()
        assert len(await stored(bot, STANDUP)) == 1

        answer = await ops(bot, "activity off", user=BOB, channel=STANDUP)
        assert "no longer store activity" in answer and "forgot the 1 message" in answer
        assert await stored(bot, STANDUP) == []
        async with bot.rt.sessions() as session:
            assert await session.get(ActivityOptOut, STANDUP) is not None
        assert await reactions(bot) == []

        after = await bot.slack.user_message(STANDUP, BOB, "not stored?")
        reply = await bot.slack.user_message(STANDUP, CAROL, "reply", thread_ts=after)
        await bot.slack.user_react(STANDUP, after, CAROL, "eyes")
        await bot.slack.user_edit(STANDUP, after, "still not stored")
        await bot.slack.user_delete(STANDUP, reply)
        await bot.settle()
        assert await stored(bot, STANDUP) == [] and await reactions(bot) == []
        async with bot.rt.sessions() as session:  # not even deletion markers
            rows = await session.scalars(
                select(ActivityMessage).where(ActivityMessage.channel == STANDUP)
            )
            assert rows.all() == []
        assert [row.ts for row in await stored(bot, GENERAL)] == [kept]
        assert "is not stored" in await ops(bot, "activity", user=CAROL, channel=STANDUP)

        refused = await ops(bot, "activity on", user=CAROL, channel=STANDUP)
        assert "Only <@U0BOB>" in refused
        assert "store activity in <#C0STANDUP> again" in await ops(
            bot, "activity on", user=BOB, channel=STANDUP
        )
        again = await bot.slack.user_message(STANDUP, DAVE, "stored again")
        await bot.settle()
        assert [row.ts for row in await stored(bot, STANDUP)] == [again]


async def test_bad_activity_input_writes_nothing(db_url: str) -> None:
    async with digest_bot(db_url) as bot:
        answer = await ops(bot, "activity sideways", channel=STANDUP)
        assert "is not an option" in answer and "/ops activity [on|off]" in answer
        answer = await ops(bot, "activity off", channel=bot.slack.dm(ALICE))
        assert "belong to channels" in answer
        assert await count(bot, ActivityOptOut) == 0


async def test_purge_forgets_text_past_retention(db_url: str) -> None:
    async with digest_bot(db_url) as bot:
        now = utcnow()
        old = f"{(now - dt.timedelta(days=31)).timestamp():.6f}"
        ancient = f"{(now - dt.timedelta(days=40)).timestamp():.6f}"
        fresh = f"{(now - dt.timedelta(days=1)).timestamp():.6f}"
        async with bot.rt.sessions() as session, session.begin():
            messages = [
                activity.NewMessage(channel=GENERAL, ts=ts, user=ALICE, text="secret plans?")
                for ts in (old, ancient, fresh)
            ]
            assert await activity.record_messages(session, messages) == 3
        await bot.rt.scheduler.run_now("digests.purge_activity")
        rows = {row.ts: row for row in await stored(bot)}
        assert set(rows) == {old, fresh}  # rows past 35 days go entirely
        assert rows[old].text is None and rows[old].is_question  # counts survive the text
        assert rows[fresh].text == "secret plans?"
        assert activity.activity_retention(bot.rt.settings) == dt.timedelta(days=30)
