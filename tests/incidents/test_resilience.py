"""Crashes, redeliveries and rate limits: state stays right and nothing is duplicated."""

from __future__ import annotations

from sqlalchemy import select

from bot.incidents.models import Incident, TimelineEntry, TimelineMark
from bot.incidents.service import kinds
from bot.sandbox.harness import running_bot
from bot.sandbox.server import Sandbox
from tests.incidents.e2e import (
    BOB,
    CAROL,
    CONFIG,
    DAVE,
    INCIDENTS,
    count,
    incident_bot,
    incident_row,
    message_text,
    posts_of,
    say,
    view_ts,
)


async def test_crash_after_declare_before_channel_gives_one_channel_and_one_card(
    db_url: str,
) -> None:
    async with Sandbox() as sandbox:
        # The first process acknowledges the declare, then dies before any worker runs.
        async with running_bot(db_url, sandbox=sandbox, start_workers=False, **CONFIG) as bot:
            assert "Incident #1 declared" in await say(bot, "declare Search is slow sev2")
        assert sandbox.state.calls_to("conversations.create") == []
        assert sandbox.state.calls_to("chat.postMessage") == []

        async with running_bot(db_url, sandbox=sandbox, **CONFIG) as bot:
            await bot.settle()
            incident = await incident_row(bot, 1)
            created = [c for c in sandbox.state.calls_to("conversations.create") if c.ok]
            assert [c.args["name"] for c in created] == [incident.channel_name]
            names = [c.name for c in sandbox.state.channels.values()]
            assert names.count(incident.channel_name) == 1
            assert len(posts_of(bot, kinds.CARD)) == 1
            assert len(posts_of(bot, kinds.ANNOUNCEMENT)) == 1
            pinned = [m for m in sandbox.state.messages(incident.channel_id or "") if m.pinned]
            assert len(pinned) == 1


async def test_lost_create_answer_adopts_the_channel_and_names_get_suffixes(db_url: str) -> None:
    async with incident_bot(db_url) as bot:
        # Slack created the channel but the answer was lost: the retry finds name_taken.
        bot.state.faults.timeout_seconds = 0.1
        bot.state.faults.fail_next("conversations.create", "timeout_after_effect")
        await say(bot, "declare Queue backlog sev3")
        await bot.settle()
        incident = await incident_row(bot, 1)
        outcomes = [c.error for c in bot.state.calls_to("conversations.create")]
        assert outcomes == ["request_timeout", "name_taken"]
        names = [c.name for c in bot.state.channels.values()]
        assert incident.channel_name is not None and names.count(incident.channel_name) == 1
        assert not any(name.startswith(f"{incident.channel_name}-") for name in names)
        assert len(posts_of(bot, kinds.CARD)) == 1

        # A second incident with the same title the same day gets a suffixed channel.
        await say(bot, "declare Queue backlog")
        await bot.settle()
        second = await incident_row(bot, 2)
        assert second.channel_name == f"{incident.channel_name}-2"
        assert second.channel_id != incident.channel_id


async def test_reaction_delivered_three_times_adds_one_entry(db_url: str) -> None:
    async with incident_bot(db_url) as bot:
        await say(bot, "declare Disk full on db-3 sev2")
        await bot.settle()
        channel, card_ts = await view_ts(bot, kinds.CARD, 1)
        await bot.slack.member_joined(channel, BOB)
        said = await bot.slack.user_message(channel, BOB, "df shows 100% on /var")
        await bot.slack.user_react(channel, said, CAROL, "pushpin")
        await bot.slack.redeliver()  # Slack's retries of the very same event
        await bot.slack.redeliver()
        await bot.settle()
        envelope = bot.slack.last_envelope
        assert envelope is not None
        # The same reaction also arriving under fresh event ids (e.g. a second app install).
        for _ in range(2):
            await bot.slack.event(envelope["event"])
        await bot.slack.user_react(channel, said, DAVE, "pushpin")
        await bot.settle()
        entries = (TimelineEntry.incident_id == 1, TimelineEntry.message_ts == said)
        assert await count(bot, TimelineEntry, *entries) == 1
        assert await count(bot, TimelineMark) == 2
        assert message_text(bot, channel, card_ts).count("df shows 100% on /var") == 1

        # One of two reactions going away keeps it; the last one removes it.
        await bot.slack.user_unreact(channel, said, CAROL, "pushpin")
        await bot.settle()
        assert await count(bot, TimelineEntry, *entries) == 1
        await bot.slack.user_unreact(channel, said, DAVE, "pushpin")
        await bot.settle()
        assert await count(bot, TimelineEntry, *entries) == 0
        assert "df shows 100% on /var" not in message_text(bot, channel, card_ts)

        # Pins work the same way; other emoji and other channels are ignored.
        await bot.slack.user_pin(channel, said, BOB)
        await bot.slack.user_react(channel, said, BOB, "eyes")
        other = await bot.slack.user_message(INCIDENTS, BOB, "unrelated")
        await bot.slack.user_react(INCIDENTS, other, BOB, "pushpin")
        await bot.settle()
        assert await count(bot, TimelineEntry, TimelineEntry.kind == "message") == 1
        assert "df shows 100% on /var" in message_text(bot, channel, card_ts)
        await bot.slack.user_unpin(channel, said, BOB)
        await bot.settle()
        assert await count(bot, TimelineEntry, TimelineEntry.kind == "message") == 0


async def test_rate_limited_updates_during_a_burst_end_with_the_right_cards(db_url: str) -> None:
    async with incident_bot(db_url) as bot:
        await say(bot, "declare Payments timing out sev3")
        await bot.settle()
        channel, card_ts = await view_ts(bot, kinds.CARD, 1)
        _, announce_ts = await view_ts(bot, kinds.ANNOUNCEMENT, 1)
        bot.state.faults.fail_next("chat.update", "ratelimited", count=3, retry_after=1)
        for text in (
            "sev sev2",
            "status identified",
            "sev sev1",
            "status mitigated",
            "status identified",
            "sev sev2",
        ):
            assert "now" in await say(bot, text, channel=channel)
        await bot.settle(timeout=30)
        limited = [c for c in bot.state.calls_to("chat.update") if c.status == 429]
        assert len(limited) == 3
        for ts, where in ((card_ts, channel), (announce_ts, INCIDENTS)):
            shown = message_text(bot, where, ts)
            assert "*Severity*\\nsev2" in shown and "*Status*\\nidentified" in shown
        assert len(posts_of(bot, kinds.CARD)) == 1
        assert len(posts_of(bot, kinds.ANNOUNCEMENT)) == 1
        async with bot.rt.sessions() as session:
            query = select(TimelineEntry.kind).where(TimelineEntry.incident_id == 1)
            entry_kinds = list(await session.scalars(query))
        assert entry_kinds.count("severity") == 3 and entry_kinds.count("status") == 3


async def test_postmortem_is_uploaded_once_even_if_the_task_runs_again(db_url: str) -> None:
    async with incident_bot(db_url) as bot:
        await say(bot, "declare Cache stampede sev2")
        await bot.settle()
        channel, _ = await view_ts(bot, kinds.CARD, 1)
        await say(bot, "resolve warmed the cache", channel=channel)
        await bot.settle()
        # A crash after the upload but before recording it: the rerun must find the file.
        async with bot.rt.sessions() as session, session.begin():
            incident = await session.get(Incident, 1)
            assert incident is not None
            file_id, incident.postmortem_file_id = incident.postmortem_file_id, None
        await bot.rt.tasks.handlers[kinds.TASK_POSTMORTEM]({"incident": 1})
        assert (await incident_row(bot, 1)).postmortem_file_id == file_id
        uploads = [c for c in bot.state.calls_to("files.completeUploadExternal") if c.ok]
        assert len(uploads) == 1
