"""The whole life of an incident, end to end: signed requests in, Web API calls out."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select

from bot.incidents.models import FollowUp, TimelineEntry
from bot.incidents.service import kinds
from tests.incidents.e2e import (
    ALICE,
    BOB,
    CAROL,
    INCIDENTS,
    count,
    incident_bot,
    incident_row,
    message_text,
    posts_of,
    say,
    view_ts,
)


async def test_full_lifecycle(db_url: str) -> None:
    async with incident_bot(db_url) as bot:
        answer = await say(bot, "declare Checkout is down sev1")
        assert "Incident #1 declared" in answer
        await bot.settle()

        incident = await incident_row(bot, 1)
        today = incident.declared_at.strftime("%Y%m%d")
        assert incident.channel_name == f"inc-{today}-checkout-is-down"
        channel = bot.state.channel(incident.channel_id)
        assert channel is not None and not channel.is_private
        assert ALICE in channel.members and "#1" in channel.topic and "sev1" in channel.topic
        card_channel, card_ts = await view_ts(bot, kinds.CARD, 1)
        assert card_channel == incident.channel_id
        assert bot.state.message(card_channel, card_ts).pinned  # type: ignore[union-attr]
        announce_channel, announce_ts = await view_ts(bot, kinds.ANNOUNCEMENT, 1)
        assert announce_channel == INCIDENTS

        # Roles: the new scribe is invited and gets a DM with duties.
        answer = await say(bot, "role scribe <@U0CAROL|carol>", channel=card_channel)
        assert "<@U0CAROL> is now scribe" in answer
        await bot.settle()
        assert CAROL in channel.members
        dm = bot.state.im_with(CAROL)
        assert dm is not None
        [duties] = bot.state.messages(dm.id)
        assert "scribe" in duties.text and "incident #1" in duties.text

        # Timeline from a reaction, with the author and the original time.
        await bot.slack.member_joined(card_channel, BOB)
        said = await bot.slack.user_message(card_channel, BOB, "LB health checks are failing")
        await bot.slack.user_react(card_channel, said, CAROL, "pushpin")
        await bot.settle()
        async with bot.rt.sessions() as session:
            entry = await session.scalar(
                select(TimelineEntry).where(TimelineEntry.message_ts == said)
            )
        assert entry is not None and entry.author_id == BOB
        assert entry.occurred_at == dt.datetime.fromtimestamp(float(said), dt.UTC)
        assert "LB health checks are failing" in message_text(bot, card_channel, card_ts)
        # A reply in a thread is found too (Slack's event only carries its address).
        reply = await bot.slack.user_message(card_channel, BOB, "Only in eu-west", thread_ts=said)
        await bot.slack.user_react(card_channel, reply, CAROL, "pushpin")
        await bot.settle()
        assert "Only in eu-west" in message_text(bot, card_channel, card_ts)

        # An update goes to the channel and to the announcement thread.
        await say(bot, "update Rolled back the LB config", channel=card_channel)
        await say(bot, "sev sev2", channel=card_channel)
        await say(bot, "status mitigated", channel=card_channel)
        await say(bot, "followup Alert on LB health <@U0BOB|bob>", channel=card_channel)
        await bot.settle()
        in_channel = [m.text for m in bot.state.messages(card_channel)]
        assert any("Rolled back the LB config" in text for text in in_channel)
        [threaded] = bot.state.replies(INCIDENTS, announce_ts)
        assert "Rolled back the LB config" in threaded.text
        card = message_text(bot, card_channel, card_ts)
        assert "sev2" in card and "mitigated" in card and "Alert on LB health" in card
        assert await count(bot, FollowUp) == 1

        answer = await say(bot, "resolve LB config rolled back", channel=card_channel)
        assert "resolved" in answer
        await bot.settle()

        incident = await incident_row(bot, 1)
        assert incident.resolved_at is not None and incident.postmortem_md
        assert "Europe/Paris" in incident.postmortem_md  # Alice resolved; her time zone
        assert "Alert on LB health" in incident.postmortem_md
        [upload] = [c for c in bot.state.calls_to("files.completeUploadExternal") if c.ok]
        assert incident.postmortem_file_id
        file = bot.state.files[incident.postmortem_file_id]
        assert file.channels == [card_channel] and b"# Postmortem" in (file.content or b"")
        assert upload

        card = message_text(bot, card_channel, card_ts)
        announced = message_text(bot, INCIDENTS, announce_ts)
        for text in (card, announced):
            assert "Time to mitigate" in text and "Time to resolve" in text

        # One channel, one pinned card, one announcement: every change was an update in place.
        assert len([c for c in bot.state.calls_to("conversations.create") if c.ok]) == 1
        assert len(posts_of(bot, kinds.CARD)) == 1
        assert len(posts_of(bot, kinds.ANNOUNCEMENT)) == 1
        assert len([c for c in bot.state.calls_to("pins.add") if c.ok]) == 1
        card_updates = [
            c for c in bot.state.calls_to("chat.update") if c.args.get("ts") == card_ts and c.ok
        ]
        assert len(card_updates) >= 3
        top_level_bot_posts = [
            m for m in bot.state.messages(INCIDENTS) if m.user == bot.state.bot_user_id
        ]
        assert len(top_level_bot_posts) == 1
