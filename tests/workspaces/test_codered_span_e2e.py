"""A code red declared in one workspace is announced in the others its settings name
(`codered.workspaces`), each in its own announce channel, with its own token; its records stay
in the workspace that declared it (SQLite and PostgreSQL)."""

from __future__ import annotations

from sqlalchemy import select

from bot.codered.models import CodeRed, CodeRedSpan
from bot.core import workspaces
from bot.core.text import TOPIC_LIMIT
from bot.sandbox.acts.workspaces import BEA, BETA, BETA_GENERAL, add_beta
from bot.sandbox.harness import BotUnderTest, running_bot
from bot.sandbox.models import Channel, Message
from bot.sandbox.seed import ALICE, BOB, GENERAL
from bot.sandbox.state import TEAM_ID
from tests.codered.helpers import codered, declare, declare_values, tick_all
from tests.standups.helpers import at, clock_at, quiet_bot, write_standup
from tests.workspaces.helpers import install_in
from tests.workspaces.test_org_install_e2e import (
    EAST,
    EAST_CHANNEL,
    EVE,
    ORG,
    WES,
    WEST,
    WEST_CHANNEL,
    add_org,
)

CONFIG = {
    "admins": [ALICE],
    "codered": {"announce_channel": GENERAL, "declarers": [BOB], "workspaces": [BETA]},
    "workspaces": {BETA: {"codered": {"announce_channel": BETA_GENERAL}}},
}


def rooms(bot: BotUnderTest) -> dict[str, Channel]:
    """The war rooms, by the workspace they are in."""
    found = [c for c in bot.state.channels.values() if c.name.startswith("codered-")]
    return {c.team_id: c for c in found}


def pinned_headers(bot: BotUnderTest, channel: str) -> list[Message]:
    return [m for m in bot.state.messages(channel) if m.pinned]


def announcements(bot: BotUnderTest, channel: str) -> list[str]:
    return [m.text for m in bot.state.messages(channel) if "code red" in m.text.lower()]


async def test_a_code_red_is_announced_in_the_workspaces_it_spans(db_url: str) -> None:
    async with running_bot(db_url, oauth=True, **CONFIG) as bot:
        add_beta(bot)
        bot.state.valid_tokens = set()
        home_token = await install_in(bot, TEAM_ID)
        beta_token = await install_in(bot, BETA)

        done = await declare(bot, user=ALICE)
        assert done is not None
        home, beta = announcements(bot, GENERAL), announcements(bot, BETA_GENERAL)
        assert len(home) == 1 and len(beta) == 1 and "Checkout errors" in beta[0]
        posted = [c for c in bot.state.calls_to("chat.postMessage") if c.ok]
        by_channel = {(c.args.get("channel"), c.token) for c in posted}
        assert (BETA_GENERAL, beta_token) in by_channel and (GENERAL, home_token) in by_channel
        assert (BETA_GENERAL, home_token) not in by_channel

        assert "resolved" in await codered(bot, "resolve Error rate back to normal")
        await bot.settle()
        assert any("resolved" in text for text in announcements(bot, BETA_GENERAL))

        # The code red is the declaring workspace's: Beta is told, it does not own it.
        async with bot.rt.sessions() as session:
            rows = (await session.execute(select(CodeRed.team_id))).scalars().all()
            spans = (await session.execute(select(CodeRedSpan.team_id))).scalars().all()
        assert rows == [TEAM_ID] and spans == [BETA]
        before = len(bot.state.ephemerals)
        await bot.slack.command("/codered", "status", user=BEA, channel=BETA_GENERAL)
        shown = " ".join(e.text for e in bot.state.ephemerals[before:])
        assert "Checkout errors" not in shown


async def test_a_code_red_has_a_war_room_in_each_workspace_it_spans(db_url: str) -> None:
    """Beta gets its own war room, made with Beta's token, its header a copy of the code red's
    kept in sync, and Beta's announcement links Beta's room."""
    async with running_bot(db_url, oauth=True, **CONFIG) as bot:
        add_beta(bot)
        bot.state.valid_tokens = set()
        home_token = await install_in(bot, TEAM_ID)
        beta_token = await install_in(bot, BETA)

        await declare(bot, user=ALICE)
        await bot.settle()
        found = rooms(bot)
        assert set(found) == {TEAM_ID, BETA}
        home_room, beta_room = found[TEAM_ID], found[BETA]
        created = {c.token: c.response["channel"]["id"] for c in bot.state.calls_to(
            "conversations.create") if c.ok}  # fmt: skip
        assert created == {home_token: home_room.id, beta_token: beta_room.id}

        (copy,) = pinned_headers(bot, beta_room.id)
        (own,) = pinned_headers(bot, home_room.id)
        assert "CODE RED" in str(copy.blocks) and "Checkout errors" in str(copy.blocks)
        posts = {(c.args.get("channel"), c.token) for c in bot.state.calls_to("chat.postMessage")}
        assert (beta_room.id, beta_token) in posts and (beta_room.id, home_token) not in posts
        assert beta_room.topic.startswith("Code red: ") and len(beta_room.topic) <= TOPIC_LIMIT
        (declared,) = announcements(bot, BETA_GENERAL)
        assert f"<#{beta_room.id}>" in declared and f"<#{home_room.id}>" not in declared

        # A change in the declaring workspace redraws both headers, each with its own token.
        assert "orange" in await codered(bot, "level orange the error rate is falling")
        await bot.settle()
        (copy,) = pinned_headers(bot, beta_room.id)
        (own,) = pinned_headers(bot, home_room.id)
        assert "CODE ORANGE" in str(copy.blocks) and "CODE ORANGE" in str(own.blocks)
        updates = [
            c for c in bot.state.calls_to("chat.update") if c.args.get("channel") == beta_room.id
        ]
        assert updates and all(c.token == beta_token and c.ok for c in updates)
        assert beta_room.topic.startswith("Code orange: ")

        assert "resolved" in await codered(bot, "resolve Error rate back to normal")
        await bot.settle()
        (copy,) = pinned_headers(bot, beta_room.id)
        assert "Resolved code red" in str(copy.blocks)
        async with bot.rt.sessions() as session:
            spans = (await session.execute(select(CodeRedSpan.channel_id))).scalars().all()
        assert spans == [beta_room.id]


async def test_the_copy_of_the_header_follows_the_check_in(db_url: str) -> None:
    async with (
        clock_at(at("2026-03-10 08:00")) as clock,
        quiet_bot(db_url, oauth=True, **CONFIG) as bot,
    ):
        add_beta(bot)
        bot.state.valid_tokens = set()
        await install_in(bot, TEAM_ID)
        await install_in(bot, BETA)
        await declare(bot, user=ALICE)
        beta_room = rooms(bot)[BETA]
        # As the scheduler runs it: within each workspace.
        with workspaces.within(workspaces.Workspace(TEAM_ID)):
            await tick_all(bot, clock, at("2026-03-10 09:00"))
        (copy,) = pinned_headers(bot, beta_room.id)
        assert "0/2 answered" in str(copy.blocks)
        await write_standup(bot, ALICE, ["rolled back cache", "alerting", "none"])
        (copy,) = pinned_headers(bot, beta_room.id)
        assert "1/2 answered" in str(copy.blocks)


async def test_in_an_enterprise_grid_org_the_check_in_spans_its_workspaces(db_url: str) -> None:
    """One org install: a code red declared in East with people of West checks them in too
    (user ids are org-wide), and both war rooms' headers count them."""
    config = {
        "admins": [EVE],
        "codered": {"announce_channel": EAST_CHANNEL, "workspaces": [WEST]},
        "workspaces": {WEST: {"codered": {"announce_channel": WEST_CHANNEL}}},
    }
    async with (
        clock_at(at("2026-03-10 08:00")) as clock,
        quiet_bot(db_url, oauth=True, **config) as bot,
    ):
        add_org(bot)
        bot.state.valid_tokens = set()
        org_token = await install_in(bot, ORG)
        await bot.slack.command("/codered", "declare", user=EVE, channel=EAST_CHANNEL)
        values = declare_values(
            owner={"type": "users_select", "selected_user": EVE},
            people={"type": "multi_users_select", "selected_users": [WES]},
        )
        answer = await bot.slack.view_submission(EVE, "codered.declare", values)
        assert answer.status_code == 200
        await bot.settle()
        found = rooms(bot)
        assert set(found) == {EAST, WEST}
        assert WES in found[WEST].members

        with workspaces.within(workspaces.Workspace(EAST, ORG)):
            await tick_all(bot, clock, at("2026-03-10 10:00"))
        assert bot.state.im_with(WES) is not None, "Wes of West was not asked to check in"
        await write_standup(bot, WES, ["paged the vendor", "failover drill", "none"])
        for team in (EAST, WEST):
            (header,) = pinned_headers(bot, found[team].id)
            assert "1/2 answered" in str(header.blocks), team
        assert {c.token for c in bot.state.calls if c.token} == {org_token}
