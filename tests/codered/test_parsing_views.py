"""Pure parts of code red: command parsing, names, dates, and inert text in the views."""

from __future__ import annotations

import datetime as dt

import pytest

from bot.codered.service import DeclareForm, commands, form_problems
from bot.codered.service.cards import AnnounceState, Basics, EventItem, level_spans
from bot.codered.service.options import check_level, lower_level, slugify
from bot.codered.views import announcement
from bot.core.commands import UsageError
from bot.core.dates import parse_day

UTC = dt.UTC


def test_parse_subcommands() -> None:
    assert commands.parse("level Orange the fix is out") == commands.Parsed(
        "level", "the fix is out", level="orange"
    )
    loan = commands.parse("loan <@U0DAVE|dave> until 2026-03-20")
    assert (loan.user, loan.until) == ("U0DAVE", "2026-03-20")
    pause = commands.parse('pause "New onboarding" <@U0ERIN>')
    assert (pause.text, pause.user) == ("New onboarding", "U0ERIN")
    assert commands.parse("pause Search revamp").text == "Search revamp"


@pytest.mark.parametrize(
    "text",
    ["level purple x", "level red", "loan dave", "loan <@U1> by friday", "resolve", "frob"],
)
def test_bad_subcommands_say_what_is_wrong(text: str) -> None:
    with pytest.raises(UsageError):
        commands.parse(text)


def test_levels_names_and_dates() -> None:
    assert check_level("RED") == "red" and lower_level("red") == "orange"
    assert lower_level("yellow") is None
    with pytest.raises(ValueError):
        check_level("purple")
    assert slugify("Checkout: errors & 502s!") == "checkout-errors-502s"
    assert slugify("!!!") == "focus"
    monday = dt.date(2026, 3, 9)
    assert parse_day("friday", monday) == dt.date(2026, 3, 13)
    assert parse_day("+2d", monday) == dt.date(2026, 3, 11)


def test_form_problems() -> None:
    form = DeclareForm("purple", "", "", "", call_link="https://x.com|click>")
    assert set(form_problems(form)) == {"level", "focus", "owner", "exit", "call"}


def test_timeline_text_keeps_bot_mentions_but_not_broadcasts() -> None:
    base = Basics(
        1, "red", "checkout", "U0ALICE", "C1", None, dt.datetime(2026, 3, 9, tzinfo=UTC),
        None, None, "UTC",
    )  # fmt: skip
    said = "<@U0DAVE> paused <!channel> <https://evil.example|docs>"
    event = EventItem(dt.datetime(2026, 3, 10, tzinfo=UTC), "level", "U0BOB", said, "orange")
    rendered = announcement(AnnounceState("C0ALL", event, base, dt.timedelta(days=1)))
    assert rendered is not None and "<!channel>" not in rendered.text
    assert "(<@U0DAVE> paused  &lt;https://evil.example|docs&gt;)" in rendered.text


def test_announcement_is_inert_and_level_spans_add_up() -> None:
    base = Basics(
        1,
        "orange",
        "<!here> checkout",
        "U0ALICE",
        "C1",
        None,
        dt.datetime(2026, 3, 9, tzinfo=UTC),
        None,
        None,
        "UTC",
    )
    event = EventItem(
        dt.datetime(2026, 3, 10, tzinfo=UTC), "level", "U0BOB", "red → orange: ok", "orange"
    )
    rendered = announcement(AnnounceState("C0ALL", event, base, dt.timedelta(days=1)))
    assert rendered is not None and "<!here>" not in rendered.text
    assert "red → orange: ok" in rendered.text and "<#C1>" in rendered.text
    spans = level_spans(
        [
            EventItem(dt.datetime(2026, 3, 9, tzinfo=UTC), "declared", "U", "", "red"),
            EventItem(dt.datetime(2026, 3, 11, tzinfo=UTC), "loan", "U", "", "red"),
            EventItem(dt.datetime(2026, 3, 12, tzinfo=UTC), "level", "U", "", "orange"),
        ],
        dt.datetime(2026, 3, 13, tzinfo=UTC),
    )
    assert spans == (("red", dt.timedelta(days=3)), ("orange", dt.timedelta(days=1)))
