"""A channel shared between two workspaces of an Enterprise Grid org: the records that live in
it are seen on both sides, and acted on from either within the workspace they belong to; the
other records of each workspace stay its own (SQLite and PostgreSQL)."""

from __future__ import annotations

from sqlalchemy import select

from bot.incidents.models import Incident, TimelineEntry
from bot.sandbox.harness import BotUnderTest, running_bot
from tests.workspaces.helpers import install_in, say
from tests.workspaces.test_org_install_e2e import (
    EAST,
    EAST_CHANNEL,
    EVE,
    WES,
    WEST,
    WEST_CHANNEL,
    add_org,
)


async def incidents(bot: BotUnderTest) -> dict[str, tuple[str, str, int]]:
    async with bot.rt.sessions() as session:
        rows = (
            await session.execute(
                select(Incident.title, Incident.team_id, Incident.status, Incident.number)
            )
        ).all()
    return {title: (team, status, number) for title, team, status, number in rows}


async def test_an_incident_channel_shared_with_another_workspace(db_url: str) -> None:
    async with running_bot(db_url, oauth=True) as bot:
        add_org(bot)
        bot.state.valid_tokens = set()
        await install_in(bot, bot.state.workspaces[EAST].enterprise_id or EAST)

        await say(bot, "declare Engine fire sev1", EVE, EAST_CHANNEL)
        await say(bot, "declare Reactor leak sev2", EVE, EAST_CHANNEL)
        await say(bot, "declare Hull breach sev2", WES, WEST_CHANNEL)
        async with bot.rt.sessions() as session:
            fire = await session.scalar(select(Incident).where(Incident.title == "Engine fire"))
        assert fire is not None and fire.channel_id
        room = fire.channel_id

        # East shares the incident's channel with West, and Wes joins it.
        bot.state.share_channel(room, WEST)
        bot.state.channels[room].members.add(WES)

        # Wes acts on East's incident from its channel: East's incident changes, as East's.
        told = await say(bot, "status mitigated", WES, room)
        assert "mitigated" in told.lower(), told
        after = await incidents(bot)
        assert after["Engine fire"] == (EAST, "mitigated", 1)
        assert after["Hull breach"][1] == "investigating"
        async with bot.rt.sessions() as session:
            entries = (
                (
                    await session.execute(
                        select(TimelineEntry.team_id).where(TimelineEntry.incident_id == fire.id)
                    )
                )
                .scalars()
                .all()
            )
        assert entries and set(entries) == {EAST}
        card_updates = [
            c for c in bot.state.calls_to("chat.update") if c.args.get("channel") == room
        ]
        assert card_updates and all(c.ok for c in card_updates)

        # West lists its own incident and the shared one; East does not see West's.
        west_list = await say(bot, "list", WES, WEST_CHANNEL)
        assert "Hull breach" in west_list and "Engine fire" in west_list
        assert "Reactor leak" not in west_list
        east_list = await say(bot, "list", EVE, EAST_CHANNEL)
        assert "Engine fire" in east_list and "Reactor leak" in east_list
        assert "Hull breach" not in east_list

        # A number typed in West is West's counting: its #1 is Hull breach, not East's #1.
        told = await say(bot, "status 1 mitigated", WES, WEST_CHANNEL)
        assert (await incidents(bot))["Hull breach"][1] == "mitigated", told
