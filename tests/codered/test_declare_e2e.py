"""Declaring a code red: who may, the war room, the pinned header, the announcement."""

from __future__ import annotations

from sqlalchemy import func, select

from bot.codered import service
from bot.codered.models import CodeRed
from bot.sandbox.harness import BotUnderTest
from bot.sandbox.seed import ALICE, BOB, CAROL, DAVE, GENERAL
from tests.codered.helpers import (
    CONFIG,
    blocks_text,
    bot_posts,
    codered,
    declare,
    declare_values,
    header,
    war_room,
)
from tests.standups.helpers import command, quiet_bot


async def _count(bot: BotUnderTest) -> int:
    async with bot.rt.sessions() as session:
        return int(await session.scalar(select(func.count()).select_from(CodeRed)) or 0)


async def test_only_admins_and_declarers_may_declare(db_url: str) -> None:
    async with quiet_bot(db_url, **CONFIG) as bot:
        answer = await codered(bot, "declare", user=DAVE)
        assert "Only admins and the code red declarers" in answer
        assert not bot.state.open_views(DAVE), "no form for someone who may not declare"
        # A forged submission is refused on the server too.
        response = await bot.slack.view_submission(DAVE, "codered.declare", declare_values())
        assert response.json()["response_action"] == "errors"
        assert await _count(bot) == 0
        assert "/codered declare" in await codered(bot, "", user=DAVE)


async def test_declare_opens_war_room_with_pinned_header_and_announces(db_url: str) -> None:
    async with quiet_bot(db_url, **CONFIG) as bot:
        done = await declare(bot, user=BOB)
        assert done is not None and done["view"]["title"]["text"] == "Code red declared"
        room = war_room(bot)
        assert room.name == "codered-checkout-errors"
        assert {ALICE, BOB, CAROL, bot.state.bot_user_id} <= room.members
        card = header(bot)
        text = blocks_text(card)
        for shown in (
            "CODE RED: Checkout errors",
            "<@U0ALICE>",
            "Error rate under 0.1% for 7 days",
            "Search revamp",
            "open incidents: 0",
            "red CI today: 0 min",
            "Check-in*: none yet",
        ):
            assert shown in text, shown
        announced = bot_posts(bot, GENERAL)
        assert len(announced) == 1
        assert "Code red declared: Checkout errors" in announced[0].text
        assert f"<#{room.id}>" in announced[0].text

        again = await declare(bot, user=ALICE, focus={"type": "plain_text_input", "value": "x"})
        assert again is not None and "already in progress" in again["errors"]["focus"]
        assert "already in progress" in await codered(bot, "declare", user=ALICE)
        assert await _count(bot) == 1
        status = await codered(bot, "status", user=DAVE)
        assert "Code red: Checkout errors" in status and f"<#{room.id}>" in status
        refused = await command(bot, '"pause" "Code red 1: Checkout errors"', ALICE)
        assert "managed by /codered" in refused
        async with bot.rt.sessions() as session:
            current = await service.active(session)
        assert current is not None
        assert (current.level, current.title, current.owner) == ("red", "Checkout errors", ALICE)


async def test_declare_form_problems_are_shown_in_the_modal(db_url: str) -> None:
    async with quiet_bot(db_url, **CONFIG) as bot:
        answer = await declare(
            bot,
            focus={"type": "plain_text_input", "value": ""},
            call={"type": "url_text_input", "value": "not a link"},
            level={"type": "static_select", "selected_option": {"value": "purple"}},
        )
        assert answer is not None
        assert set(answer["errors"]) == {"focus", "call", "level"}
        assert await _count(bot) == 0
