"""`/incident` subcommands end to end: bad input, context, rights, lists and inert titles."""

from __future__ import annotations

import json

from sqlalchemy import select

from bot.core.projector import Projection
from bot.core.tasks import Task
from bot.incidents import service
from bot.incidents.models import FollowUp, Incident, RoleAssignment, TimelineEntry
from bot.incidents.service import kinds
from bot.incidents.service.state import Options
from bot.sandbox.harness import BotUnderTest
from tests.incidents.e2e import (
    ADMIN,
    BOB,
    DAVE,
    GENERAL,
    INCIDENTS,
    count,
    incident_bot,
    incident_row,
    say,
    view_ts,
)

TABLES = (Incident, TimelineEntry, RoleAssignment, FollowUp, Task, Projection)


async def _rows(bot: BotUnderTest) -> list[int]:
    return [await count(bot, table) for table in TABLES]


async def _entries(bot: BotUnderTest) -> list[TimelineEntry]:
    async with bot.rt.sessions() as session:
        return list(await session.scalars(select(TimelineEntry).order_by(TimelineEntry.id)))


def _opts(bot: BotUnderTest) -> Options:
    return Options.from_settings(bot.rt.settings)


async def test_bad_input_gets_the_usage_and_writes_nothing(db_url: str) -> None:
    async with incident_bot(db_url) as bot:
        answer = await say(bot, "help")
        assert "/incident declare <title> [severity]" in answer and "resolve" in answer
        await say(bot, "declare API errors sev2")
        await bot.settle()
        channel, _ = await view_ts(bot, kinds.CARD, 1)
        before = await _rows(bot)
        cases = [
            ("declare", GENERAL, "needs a title"),
            ("declare   sev1", GENERAL, "needs a title"),
            ("declare DB down sev9", GENERAL, "Unknown severity `sev9`"),
            ("status exploded", channel, "Unknown status `exploded`"),
            ("sev sev0", channel, "Unknown severity `sev0`"),
            ("sev sev1", GENERAL, "Outside an incident channel"),
            ("status 99 mitigated", GENERAL, "There is no incident #99"),
            ("update 99 all good", GENERAL, "There is no incident #99"),
            ("role commander bob", channel, "not a person"),
            ("role overlord <@U0BOB|bob>", channel, "Unknown role `overlord`"),
            ("update", channel, "Say what the update is"),
            ("frobnicate", GENERAL, "don't know the subcommand"),
        ]
        for text, where, problem in cases:
            answer = await say(bot, text, channel=where)
            assert problem in answer, (text, answer)
            assert "/incident declare <title> [severity]" in answer, text
        await bot.settle()
        assert await _rows(bot) == before
        assert len([c for c in bot.state.calls_to("conversations.create") if c.ok]) == 1


async def test_number_required_outside_and_optional_inside_the_channel(db_url: str) -> None:
    async with incident_bot(db_url) as bot:
        await say(bot, "declare Billing is wrong")
        await say(bot, "declare Emails delayed")
        await bot.settle()
        second_channel, _ = await view_ts(bot, kinds.CARD, 2)
        assert "#1 is now mitigated" in await say(bot, "status 1 mitigated", channel=GENERAL)
        assert "#1 is now sev1" in await say(bot, "sev #1 sev1", channel=second_channel)
        # Inside an incident channel a bare leading number is part of the text.
        await say(bot, "update 500 errors have stopped", channel=second_channel)
        await say(bot, "note 2 replicas restarted", channel=GENERAL)
        await bot.settle()
        assert (await incident_row(bot, 1)).status == "mitigated"
        assert (await incident_row(bot, 1)).severity == "sev1"
        assert (await incident_row(bot, 2)).status == "investigating"
        texts = {
            (e.incident_id, e.kind): e.text
            for e in await _entries(bot)
            if e.kind in ("update", "note")
        }
        assert texts == {
            (2, "update"): "500 errors have stopped",
            (2, "note"): "replicas restarted",
        }


async def test_only_commander_reporter_or_admin_may_resolve(db_url: str) -> None:
    async with incident_bot(db_url) as bot:
        await say(bot, "declare Deploys stuck sev2")
        await bot.settle()
        channel, _ = await view_ts(bot, kinds.CARD, 1)
        await say(bot, "role commander <@U0BOB|bob>", channel=channel)
        answer = await say(bot, "resolve I think it is fine", user=DAVE, channel=channel)
        assert "Only the commander, the reporter or an admin can resolve" in answer
        assert (await incident_row(bot, 1)).resolved_at is None
        # Someone else cannot take a held role either; the holder and leads can hand it over.
        answer = await say(bot, "role commander <@U0DAVE|dave>", user=DAVE, channel=channel)
        assert "Only the commander, the reporter or an admin" in answer
        assert "resolved" in await say(bot, "resolve rolled back", user=ADMIN, channel=channel)
        answer = await say(bot, "sev sev1", user=BOB, channel=channel)
        assert "already resolved" in answer
        await bot.settle()
        assert (await incident_row(bot, 1)).resolved_by == ADMIN


async def test_list_shows_open_incidents_and_hides_private_ones(db_url: str) -> None:
    async with incident_bot(db_url) as bot:
        assert "No open incidents" in await say(bot, "list")
        await say(bot, "declare Search is down sev1")
        await say(bot, "declare Old thing")
        async with bot.rt.sessions() as session, session.begin():
            secret = await service.declare(
                session, _opts(bot), title="Leaked keys", reporter=BOB, private=True
            )
        await bot.settle()
        await say(bot, "resolve", channel=(await view_ts(bot, kinds.CARD, 2))[0])
        mine = await say(bot, "list", user=BOB)
        assert "Search is down" in mine and "Leaked keys" in mine and "Old thing" not in mine
        theirs = await say(bot, "list", user=DAVE)
        assert "Search is down" in theirs and "Leaked keys" not in theirs
        # Outsiders cannot reach a private incident by number either.
        answer = await say(bot, f"status {secret.number} mitigated", user=DAVE)
        assert f"There is no incident #{secret.number}" in answer


async def test_hostile_titles_render_inert(db_url: str) -> None:
    async with incident_bot(db_url) as bot:
        title = "<!channel> pay <https://x|y> now <!here>"
        await say(bot, f"declare {title} sev1")
        await bot.settle()
        channel, _ = await view_ts(bot, kinds.CARD, 1)
        await say(bot, "update <!everyone> see <https://evil|docs>", channel=channel)
        await bot.settle()
        assert (await incident_row(bot, 1)).title == title  # stored as typed, escaped on output
        sent = [
            json.dumps(call.args)
            for call in bot.state.calls
            if call.method.startswith(("chat.", "conversations.setTopic"))
        ]
        assert sent
        for body in sent:
            for token in ("<!channel>", "<!here>", "<!everyone>", "<https://x|y>", "<https://evil"):
                assert token not in body, (token, body[:300])
        assert any("&lt;https://x|y&gt;" in body for body in sent)
        for shown in bot.state.ephemerals:
            assert "<!channel>" not in shown.text and "<https://x|y>" not in shown.text
        assert INCIDENTS in {
            call.args.get("channel") for call in bot.state.calls_to("chat.postMessage")
        }
        name = (await incident_row(bot, 1)).channel_name
        assert name is not None and "channel" not in name.split("-")
