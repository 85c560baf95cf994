"""Pure parts: times, days, zones and dates people type; the digest's layout."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest

from bot.core.dates import parse_day
from bot.standups import views
from bot.standups.service import StandupSpec, blocker_of, question_roles, schedule, spec_problems
from bot.standups.service.cards import AwayNote, DigestState, PersonAnswer


@pytest.mark.parametrize("text", ["25:00", "24:00", "12:60", "9", "nine", "", "-1:00"])
def test_impossible_times_are_refused(text: str) -> None:
    with pytest.raises(ValueError):
        schedule.parse_time(text)


def test_times_and_days() -> None:
    assert schedule.parse_time("09:30") == 570 and schedule.parse_time("9h05") == 545
    assert schedule.parse_days("mon-fri") == (0, 1, 2, 3, 4)
    assert schedule.parse_days("mon,thu") == (0, 3)
    assert schedule.parse_days("fri-mon") == (0, 4, 5, 6)
    assert schedule.days_text((0, 3)) == "Mon, Thu"
    with pytest.raises(ValueError):
        schedule.parse_days("someday")


def test_zones() -> None:
    assert schedule.check_zone("Europe/Paris") == "Europe/Paris"
    for bad in ("Mars/Olympus", "../etc/passwd", ""):
        with pytest.raises(ValueError):
            schedule.check_zone(bad)


def test_prompt_moment_keeps_wall_clock_across_dst() -> None:
    zone = ZoneInfo("America/Los_Angeles")
    before = schedule.moments(dt.date(2026, 3, 6), 540, zone, 60, 120)
    after = schedule.moments(dt.date(2026, 3, 9), 540, zone, 60, 120)
    assert before.prompt_at.hour == 17 and after.prompt_at.hour == 16
    assert after.cutoff_at - after.prompt_at == dt.timedelta(minutes=120)


def test_dates_people_type() -> None:
    monday = dt.date(2026, 3, 9)
    assert parse_day("tomorrow", monday) == dt.date(2026, 3, 10)
    assert parse_day("friday", monday) == dt.date(2026, 3, 13)
    assert parse_day("monday", monday) == dt.date(2026, 3, 16)
    assert parse_day("+3d", monday) == dt.date(2026, 3, 12)
    # A word that only begins like a weekday is not one.
    for word in ("monkey", "sat-ish", "wednesdays", "mo"):
        with pytest.raises(ValueError):
            parse_day(word, monday)
    assert parse_day("tues", monday) == parse_day("tuesday", monday) == dt.date(2026, 3, 10)
    with pytest.raises(ValueError):
        schedule.parse_dates(["monkey"], monday)
    assert len(schedule.parse_dates(["2026-03-10..2026-03-12", "2026-03-10"], monday)) == 3
    with pytest.raises(ValueError):
        schedule.parse_dates(["2026-03-12..2026-03-10"], monday)


def test_question_roles_and_blockers() -> None:
    questions = ["Done?", "Plans for today?", "Any blockers?"]
    assert question_roles(questions) == (1, 2)
    assert blocker_of(questions, ["a", "b", "None."]) is None
    assert blocker_of(questions, ["a", "b", "need DB access"]) == "need DB access"


def test_spec_problems_name_each_field() -> None:
    spec = StandupSpec("", None, [], (), 0, None, 200, 100)
    assert set(spec_problems(spec)) == {"name", "channel", "users", "questions", "days", "reminder"}


def test_digest_puts_blockers_first_and_keeps_text_inert() -> None:
    state = DigestState(
        run_id=1,
        name="Daily",
        channel="C1",
        run_date=dt.date(2026, 3, 10),
        questions=["Done?", "Today?", "Blockers?"],
        blocker_index=2,
        answered=[
            PersonAnswer("U1", ["<!channel> shipped", "x", ""], None, False, False),
            PersonAnswer(
                "U2",
                ["a", "b", "need <https://evil|access>"],
                "need <https://evil|access>",
                True,
                False,
            ),
        ],
        waiting=["U3"],
        missed=["U4"],
        away=[AwayNote("U5", "loan", "code red", dt.date(2026, 3, 20))],
        prompted=4,
    )
    rendered = views.digest(state)
    assert rendered is not None
    blocks = [block.to_dict() for block in rendered.blocks]
    text = str(blocks)
    assert text.index("Blockers") < text.index("shipped")
    assert "<!channel>" not in text and "&lt;https://evil|access&gt;" in text
    assert "_(late)_" in text and "Waiting for <@U3>" in text and "Did not answer: <@U4>" in text
    assert "on loan: code red until Fri 20 Mar" in text
    assert "2 of 4 answered" in rendered.text
