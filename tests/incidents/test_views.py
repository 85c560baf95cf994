"""The pure views: what people see on the cards, DMs and reminders."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json

from bot.incidents import views
from bot.incidents.service.state import EntryState as Entry
from bot.incidents.service.state import FollowUpState, ReminderState, RoleDmState, UpdateState
from bot.incidents.views.text import duration, safe
from tests.incidents.factories import OPTIONS, T0, incident


def _json(rendered: object) -> str:
    assert rendered is not None
    blocks = [b.to_dict() if hasattr(b, "to_dict") else b for b in rendered.blocks]  # type: ignore[attr-defined]
    return json.dumps({"text": rendered.text, "blocks": blocks})  # type: ignore[attr-defined]


def test_card_is_pinned_in_the_incident_channel_with_menus_and_role_buttons() -> None:
    card = views.incident_card(incident())
    assert card is not None and card.channel == "C0INC42" and card.pin
    body = _json(card)
    assert "Incident #42: Checkout is down" in body
    assert views.SET_SEVERITY in body and views.SET_STATUS in body
    assert f"{views.TAKE_ROLE}.scribe" in body
    assert "Alert on 502 rate" in body and "<@U0CAROL>" in body
    assert "LB health checks failing" in body


def test_card_waits_for_the_channel() -> None:
    assert views.incident_card(incident(channel_id=None)) is None


def test_resolved_card_shows_durations_and_drops_controls() -> None:
    state = incident(
        status="resolved",
        mitigated_at=T0 + dt.timedelta(minutes=45),
        resolved_at=T0 + dt.timedelta(hours=2, minutes=5),
        summary="Rolled back the LB config",
    )
    body = _json(views.incident_card(state))
    assert "Time to mitigate" in body and "45m" in body
    assert "Time to resolve" in body and "2h 05m" in body
    assert views.SET_STATUS not in body and views.TAKE_ROLE not in body
    assert "Rolled back the LB config" in body
    announced = _json(views.announcement(state))
    assert "2h 05m" in announced and "45m" in announced


def test_hostile_titles_render_inert_everywhere() -> None:
    state = incident(title="<!channel> see <https://x|y> now", description="<!here> <@U0BOB>")
    for rendered in (
        views.incident_card(state),
        views.announcement(state),
        views.role_dm(RoleDmState(state, "scribe", "U0DAVE", "U0BOB")),
    ):
        body = _json(rendered)
        assert "<!channel>" not in body and "<!here>" not in body
        assert "<https://x|y>" not in body
        assert "&lt;https://x|y&gt;" in body
    assert "<!channel>" not in views.topic(state)


def test_safe_keeps_person_mentions_but_not_links() -> None:
    assert safe("ping <@U0BOB|bob> re <https://evil|bank>") == (
        "ping <@U0BOB> re &lt;https://evil|bank&gt;"
    )


def test_private_announcement_says_only_who_to_ask() -> None:
    state = incident(private=True, title="Secret breach", description="customer data")
    rendered = views.announcement(state)
    assert rendered is not None and rendered.channel == "C0INCIDENTS"
    body = _json(rendered)
    assert "Secret breach" not in body and "customer data" not in body
    assert "C0INC42" not in body and "sev1" not in body
    assert "<@U0ALICE>" in body and "<@U0BOB>" in body


def test_no_announcement_without_a_channel_configured() -> None:
    options = dataclasses.replace(OPTIONS, announce_channel=None)
    assert views.announcement(incident(options=options)) is None


def test_update_in_thread_and_private_updates_stay_out_of_the_announcement() -> None:
    entry = Entry(9, "update", "Rolled back <!channel>", "U0BOB", T0)
    threaded = views.update_post(UpdateState(incident(), entry, "C0INCIDENTS", "111.222"))
    assert threaded is not None and threaded.thread_ts == "111.222"
    assert "<!channel>" not in _json(threaded) and "Rolled back" in _json(threaded)
    assert views.update_post(UpdateState(incident(private=True), entry, "")) is None


def test_reminder_has_a_snooze_button_until_snoozed_or_answered() -> None:
    base = ReminderState(7, incident(), T0, "U0BOB", None, None, updated_since=False)
    body = _json(views.reminder(base))
    assert "<@U0BOB>" in body and views.SNOOZE in body and "9042:7" in body
    snoozed = dataclasses.replace(base, snoozed_by="U0BOB", snoozed_until=T0)
    assert views.SNOOZE not in _json(views.reminder(snoozed))
    answered = dataclasses.replace(base, updated_since=True)
    assert "update was posted" in _json(views.reminder(answered))


def test_durations() -> None:
    assert duration(dt.timedelta(seconds=20)) == "20s"
    assert duration(dt.timedelta(minutes=5)) == "5m"
    assert duration(dt.timedelta(hours=1, minutes=5)) == "1h 05m"
    assert duration(dt.timedelta(days=2, hours=3)) == "2d 3h 00m"
    assert duration(None) == "-"


def test_long_timelines_and_followup_lists_stay_within_slack_limits() -> None:
    long = "x" * 5000
    state = incident(
        timeline=tuple(Entry(i, "note", long, "U0BOB", T0) for i in range(40)),
        followups=tuple(FollowUpState(i, long, "U0BOB") for i in range(40)),
        description=long,
        summary=long,
    )
    card = views.incident_card(state)
    assert card is not None and len(card.blocks) <= 50
    for block in card.blocks:
        text = block.to_dict().get("text", {}).get("text", "")  # type: ignore[union-attr]
        assert len(text) <= 3000
    body = _json(card)
    assert "(last 10 of 40)" in body and "and 30 more" in body


def test_what_people_read_names_the_number_and_never_the_key() -> None:
    """The key counts every workspace's incidents; only the workspace's own number is shown."""
    from bot.incidents.views import postmortem

    state = incident(private=False)
    entry = Entry(3, "update", "Rolled back", "U0BOB", T0)
    shown = [
        _json(views.incident_card(state)),
        _json(views.announcement(state)),
        _json(views.announcement(incident(private=True))),
        _json(views.update_post(UpdateState(state, entry, "C0INC42"))),
        _json(views.role_dm(RoleDmState(state, "commander", "U0BOB", "U0ALICE"))),
        _json(views.reminder(ReminderState(7, state, T0, "U0BOB", None, None, False))),
        views.topic(state),
        postmortem.render(state, "UTC", {}, T0),
    ]
    for text in shown:
        assert "#9042" not in text and "-9042-" not in text, text
        assert "#42" in text or "incident-42-" in text, text
