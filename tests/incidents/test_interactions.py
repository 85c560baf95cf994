"""The declare modal, card buttons and menus, and the reminder with its Snooze button."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import update

from bot.incidents import views
from bot.incidents.models import Incident, Reminder
from bot.incidents.service import kinds
from bot.incidents.views.modals import DECLARE_CALLBACK
from bot.sandbox.harness import BotUnderTest, running_bot
from bot.sandbox.server import Sandbox
from tests.incidents.e2e import (
    ALICE,
    BOB,
    CONFIG,
    DAVE,
    INCIDENTS,
    count,
    incident_bot,
    incident_row,
    message_text,
    say,
    view_ts,
)


def _form(
    title: str, severity: str = "sev2", private: bool = False, commander: str | None = None
) -> dict[str, Any]:
    return {
        "title": {"value": {"type": "plain_text_input", "value": title}},
        "severity": {"value": {"type": "static_select", "selected_option": {"value": severity}}},
        "description": {"value": {"type": "plain_text_input", "value": "Customers see 500s"}},
        "private": {
            "value": {
                "type": "checkboxes",
                "selected_options": [{"value": "private"}] if private else [],
            }
        },
        "commander": {"value": {"type": "users_select", "selected_user": commander}},
    }


async def test_modal_declares_a_private_incident_and_refuses_bad_fields(db_url: str) -> None:
    async with incident_bot(db_url) as bot:
        answer = await say(bot, "")
        assert "opened the declare form" in answer and "/incident declare <title>" in answer
        [modal] = [v for v in bot.state.open_views(ALICE) if v.callback_id == DECLARE_CALLBACK]

        await bot.slack.view_submission(ALICE, DECLARE_CALLBACK, _form("   "), view_id=modal.id)
        assert modal.errors is not None and "title" in modal.errors
        await bot.slack.view_submission(
            ALICE, DECLARE_CALLBACK, _form("x", severity="sev9"), view_id=modal.id
        )
        assert modal.errors is not None and "severity" in modal.errors
        assert await count(bot, Incident) == 0

        form = _form("Customer data exposed", severity="sev1", private=True, commander=BOB)
        await bot.slack.view_submission(ALICE, DECLARE_CALLBACK, form, view_id=modal.id)
        assert "declared" in str(modal.payload)
        await bot.settle()

        incident = await incident_row(bot, 1)
        assert incident.private and incident.severity == "sev1"
        assert incident.description == "Customers see 500s"
        channel = bot.state.channel(incident.channel_id or "")
        assert channel is not None and channel.is_private and {ALICE, BOB} <= channel.members
        _, announce_ts = await view_ts(bot, kinds.ANNOUNCEMENT, 1)
        announced = message_text(bot, INCIDENTS, announce_ts)
        assert "private incident" in announced and "<@U0ALICE>" in announced
        assert "<@U0BOB>" in announced and "Customer data" not in announced
        assert (incident.channel_id or "") not in announced
        # Updates of a private incident stay in its channel.
        await say(bot, "update contained", user=BOB, channel=incident.channel_id)
        await bot.settle()
        assert bot.state.replies(INCIDENTS, announce_ts) == []


async def _card(bot: BotUnderTest) -> tuple[str, str]:
    await say(bot, "declare Webhooks failing sev2")
    await bot.settle()
    channel, ts = await view_ts(bot, kinds.CARD, 1)
    await bot.slack.member_joined(channel, DAVE)
    return channel, ts


async def test_card_buttons_and_menus_check_rights_on_the_server(db_url: str) -> None:
    async with incident_bot(db_url) as bot:
        channel, ts = await _card(bot)
        where = {"channel": channel, "message_ts": ts}

        await bot.slack.block_action(DAVE, f"{views.TAKE_ROLE}.communications", **where)
        await bot.slack.block_action(DAVE, f"{views.TAKE_ROLE}.commander", **where)
        await bot.slack.block_action(DAVE, views.SET_STATUS, "1:identified", **where)
        await bot.slack.block_action(DAVE, views.SET_SEVERITY, "1:sev1", **where)
        await bot.slack.block_action(DAVE, views.SET_STATUS, "1:resolved", **where)
        await bot.settle()

        refusals = [e.text for e in bot.state.ephemerals_for(DAVE)]
        assert any("<@U0ALICE> is commander" in text for text in refusals)
        assert any(
            "Only the commander, the reporter or an admin can resolve" in t for t in refusals
        )
        incident = await incident_row(bot, 1)
        assert (incident.status, incident.severity, incident.resolved_at) == (
            "identified",
            "sev1",
            None,
        )
        card = message_text(bot, channel, ts)
        assert "communications: <@U0DAVE>" in card and "commander: <@U0ALICE>" in card
        dm = bot.state.im_with(DAVE)
        assert dm is not None and "communications" in bot.state.messages(dm.id)[0].text

        await bot.slack.block_action(ALICE, views.SET_STATUS, "1:resolved", **where)
        await bot.settle()
        assert (await incident_row(bot, 1)).resolved_by == ALICE
        assert views.SET_STATUS not in message_text(bot, channel, ts)


async def test_a_refused_menu_choice_is_sent_again_though_nothing_changed(db_url: str) -> None:
    async with incident_bot(db_url) as bot:
        channel, ts = await _card(bot)

        def card_updates() -> int:
            calls = bot.state.calls_to("chat.update")
            return len([c for c in calls if c.args.get("ts") == ts and c.ok])

        before = card_updates()
        await bot.slack.block_action(
            DAVE, views.SET_STATUS, "1:resolved", channel=channel, message_ts=ts
        )
        await bot.settle()
        assert (await incident_row(bot, 1)).resolved_at is None
        # The card is drawn as it was, and sent anyway: Slack still shows the refused choice.
        assert card_updates() == before + 1


async def _backdate(bot: BotUnderTest, minutes: int) -> None:
    async with bot.rt.sessions() as session, session.begin():
        incident = await session.get(Incident, 1)
        assert incident is not None
        shift = dt.timedelta(minutes=minutes)
        await session.execute(
            update(Incident)
            .where(Incident.id == 1)
            .values(
                declared_at=incident.declared_at - shift,
                last_update_at=incident.last_update_at - shift if incident.last_update_at else None,
                snoozed_until=incident.snoozed_until - shift if incident.snoozed_until else None,
            )
        )


def _reminders(bot: BotUnderTest, channel: str) -> list[Any]:
    return [m for m in bot.state.messages(channel) if "due an update" in m.text]


async def test_reminders_survive_a_restart_snooze_and_stop_at_resolution(db_url: str) -> None:
    async with Sandbox() as sandbox:
        async with running_bot(db_url, sandbox=sandbox, **CONFIG) as bot:
            channel, _ = await _card(bot)
            await say(bot, "sev sev1", channel=channel)  # sev1: an update every 30 minutes
            await bot.settle()
        async with running_bot(db_url, sandbox=sandbox, **CONFIG) as bot:
            await _backdate(bot, 31)
            await bot.rt.scheduler.run_now("incidents.reminders")
            await bot.rt.scheduler.run_now("incidents.reminders")
            await bot.settle()
            [reminder] = _reminders(bot, channel)
            assert "<@U0ALICE>" in reminder.text or "<@U0ALICE>" in str(reminder.blocks)
            assert views.SNOOZE in str(reminder.blocks)
            assert await count(bot, Reminder) == 1

            await bot.slack.block_action(
                ALICE, views.SNOOZE, channel=channel, message_ts=reminder.ts
            )
            await bot.settle()
            assert "Snoozed by" in str(reminder.blocks) and views.SNOOZE not in str(reminder.blocks)
            await _backdate(bot, 20)  # 20 of the 30 snoozed minutes have passed
            await bot.rt.scheduler.run_now("incidents.reminders")
            await bot.settle()
            assert len(_reminders(bot, channel)) == 1

            await _backdate(bot, 15)
            await bot.rt.scheduler.run_now("incidents.reminders")
            await bot.settle()
            assert len(_reminders(bot, channel)) == 2

            await say(bot, "resolve done", channel=channel)
            await _backdate(bot, 120)
            await bot.rt.scheduler.run_now("incidents.reminders")
            await bot.settle()
            second = _reminders(bot, channel)[-1]
            assert len(_reminders(bot, channel)) == 2
            assert "incident is resolved" in str(second.blocks)
            assert views.SNOOZE not in str(second.blocks)
