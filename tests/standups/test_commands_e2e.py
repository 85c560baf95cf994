"""`/standup` commands and the create/edit modal, through signed requests."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select

from bot.sandbox.harness import BotUnderTest
from bot.sandbox.seed import ALICE, BOB, CAROL, DAVE, ERIN, STANDUP
from bot.standups.models import Standup, StandupParticipant
from tests.standups.helpers import at, clock_at, command, dm_messages, quiet_bot, tick_at


async def _standups(bot: BotUnderTest) -> int:
    async with bot.rt.sessions() as session:
        return int(await session.scalar(select(func.count()).select_from(Standup)) or 0)


def form_values(**overrides: Any) -> dict[str, Any]:
    values: dict[str, Any] = {
        "name": {"type": "plain_text_input", "value": "Team daily"},
        "channel": {"type": "conversations_select", "selected_conversation": STANDUP},
        "users": {"type": "multi_users_select", "selected_users": [ALICE, BOB]},
        "questions": {
            "type": "plain_text_input",
            "value": "Done?\nWhat will you do today?\nBlockers?",
        },
        "days": {
            "type": "checkboxes",
            "selected_options": [{"value": str(day)} for day in range(5)],
        },
        "time": {"type": "plain_text_input", "value": "09:30"},
        "tz_mode": {"type": "radio_buttons", "selected_option": {"value": "user"}},
        "tz": {"type": "plain_text_input", "value": None},
        "reminder": {"type": "plain_text_input", "value": "60"},
        "cutoff": {"type": "plain_text_input", "value": "180"},
    }
    values.update(overrides)
    return {block: {"v": value} for block, value in values.items()}


async def _submit(bot: BotUnderTest, user: str, **overrides: Any) -> dict[str, Any] | None:
    response = await bot.slack.view_submission(user, "standups.create", form_values(**overrides))
    assert response.status_code == 200
    await bot.settle()
    return response.json() if response.content else None


async def test_help_and_empty_text_answer_usage(db_url: str) -> None:
    async with quiet_bot(db_url) as bot:
        for text in ("", "help"):
            assert "/standup skip <dates>" in await command(bot, text, ALICE)


async def test_bad_input_answers_usage_and_writes_nothing(db_url: str) -> None:
    async with quiet_bot(db_url) as bot:
        cases = {
            f"create Daily <#{STANDUP}> 25:00 <@{ALICE}>": "not a time of day",
            f"create Daily <#{STANDUP}> 09:00 tz=Mars/Olympus <@{ALICE}>": "not a time zone",
            f"create Daily <#{STANDUP}> 09:00": "at least one participant",
            f"create Daily <#{STANDUP}> 09:00 <@{ALICE}> reminder=200 cutoff=100": "reminder",
            "frobnicate": "don't know",
            "skip someday": "not a date",
        }
        for text, problem in cases.items():
            answer = await command(bot, text, ALICE)
            assert problem in answer, (text, answer)
            assert "/standup create" in answer, "the usage comes with the problem"
        assert await _standups(bot) == 0


async def test_modal_refuses_bad_fields_with_errors(db_url: str) -> None:
    async with quiet_bot(db_url) as bot:
        await bot.slack.command("/standup", "create", user=ALICE, channel=STANDUP)
        modal = bot.state.open_views(ALICE)[-1]
        assert modal.callback_id == "standups.create"
        answer = await _submit(
            bot,
            ALICE,
            time={"type": "plain_text_input", "value": "25:00"},
            tz_mode={"type": "radio_buttons", "selected_option": {"value": "fixed"}},
            tz={"type": "plain_text_input", "value": "Nowhere/Land"},
            users={"type": "multi_users_select", "selected_users": []},
        )
        assert answer is not None and answer["response_action"] == "errors"
        assert set(answer["errors"]) == {"time", "tz", "users"}
        assert "00:00 to 23:59" in answer["errors"]["time"]
        assert await _standups(bot) == 0
        assert not bot.state.views[modal.id].closed


async def test_modal_create_then_edit_and_list(db_url: str) -> None:
    async with quiet_bot(db_url) as bot:
        await bot.slack.command("/standup", "create", user=ALICE, channel=STANDUP)
        done = await _submit(bot, ALICE)
        assert done is not None and done["response_action"] == "update"
        assert (
            "Team daily" in str(done["view"]) and done["view"]["title"]["text"] == "Standup created"
        )
        listed = await command(bot, "list", BOB)
        assert "Team daily" in listed and "Mon–Fri at 09:30" in listed and "2 people" in listed

        refused = await command(bot, "edit team daily", BOB)
        assert "Only <@U0ALICE> or an admin" in refused
        await bot.slack.command("/standup", "edit Team Daily", user=ALICE, channel=STANDUP)
        modal = bot.state.open_views(ALICE)[-1]
        name_block = next(b for b in modal.payload["blocks"] if b["block_id"] == "name")
        assert name_block["element"]["initial_value"] == "Team daily"
        await _submit(
            bot,
            ALICE,
            users={"type": "multi_users_select", "selected_users": [ALICE, CAROL]},
            time={"type": "plain_text_input", "value": "10:15"},
            tz_mode={"type": "radio_buttons", "selected_option": {"value": "fixed"}},
            tz={"type": "plain_text_input", "value": "Europe/Paris"},
        )
        listed = await command(bot, "list", BOB)
        assert "10:15 in Europe/Paris" in listed
        async with bot.rt.sessions() as session:
            people = set(await session.scalars(select(StandupParticipant.user_id)))
        assert people == {ALICE, CAROL}


async def test_user_group_participants(db_url: str) -> None:
    async with clock_at(at("2026-03-10 06:00")) as clock, quiet_bot(db_url) as bot:
        await bot.slack.command("/standup", "create", user=ALICE, channel=STANDUP)
        modal = bot.state.open_views(ALICE)[-1]
        assert "@sre (3)" in str(modal.payload), "the form offers the workspace's user groups"
        await _submit(
            bot,
            ALICE,
            users={"type": "multi_users_select", "selected_users": []},
            group={"type": "static_select", "selected_option": {"value": "S0SRE"}},
            tz_mode={"type": "radio_buttons", "selected_option": {"value": "fixed"}},
            tz={"type": "plain_text_input", "value": "UTC"},
        )
        assert (await tick_at(bot, clock, at("2026-03-10 09:30"))).prompts == 3
        assert all(len(dm_messages(bot, user)) == 1 for user in (CAROL, DAVE, ERIN))
        # The group changes; the daily refresh brings the standup in line.
        bot.state.usergroups["S0SRE"].users = [CAROL, DAVE]
        await tick_at(bot, clock, at("2026-03-11 06:00"))
        report = await tick_at(bot, clock, at("2026-03-11 09:30"))
        assert report.prompts == 2 and len(dm_messages(bot, ERIN)) == 1


async def test_pause_and_resume(db_url: str) -> None:
    create = f"create Daily <#{STANDUP}> 09:00 <@{ALICE}> <@{BOB}> tz=UTC"
    async with clock_at(at("2026-03-10 06:00")) as clock, quiet_bot(db_url) as bot:
        await command(bot, create, ALICE)
        assert "Only <@U0ALICE>" in await command(bot, "pause daily", BOB)
        assert "paused" in await command(bot, "pause daily", ALICE)
        assert (await tick_at(bot, clock, at("2026-03-10 09:00"))).prompts == 0
        assert "running again" in await command(bot, "resume daily", ALICE)
        assert (await tick_at(bot, clock, at("2026-03-11 09:00"))).prompts == 2
        assert "no standup called" in (await command(bot, "pause nope", ALICE)).lower()
