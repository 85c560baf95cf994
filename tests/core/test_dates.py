"""One weekday parser for every feature: a weekday is its name or a start of it."""

from __future__ import annotations

import pytest

from bot.codered.service.options import Options
from bot.config import Settings
from bot.core.dates import WEEKDAYS, parse_weekday, weekday_index
from bot.standups.service.schedule import parse_days


def test_a_weekday_is_its_name_or_a_start_of_it() -> None:
    assert [parse_weekday(word) for word in ("mon", "Tues", "wednesday", "thur", " fri ")] == [
        0, 1, 2, 3, 4,
    ]  # fmt: skip
    assert WEEKDAYS == ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
    for word in ("monkey", "mo", "", "sundays", "fry"):
        assert weekday_index(word) is None
        with pytest.raises(ValueError, match="is not a day of the week"):
            parse_weekday(word)


@pytest.mark.parametrize("text", ["monkey-friday", "mon-fryday", "monkey", "tue,wedge"])
def test_standup_days_refuse_words_that_only_begin_like_a_day(text: str) -> None:
    with pytest.raises(ValueError, match="is not a day of the week"):
        parse_days(text)


def test_standup_days_read_names_and_ranges() -> None:
    assert parse_days("monday-friday") == (0, 1, 2, 3, 4)
    assert parse_days("tues,thurs") == (1, 3)
    assert parse_days("sat-mon") == (0, 5, 6)


def test_code_red_check_in_days_use_the_same_parser() -> None:
    settings = Settings(codered={"checkin_days": {"red": ["monday", "Wed"], "yellow": ["thu"]}})
    assert Options.from_settings(settings).checkin_days == {"red": (0, 2), "yellow": (3,)}
    monkey = Settings(codered={"checkin_days": {"red": ["monkey"]}})
    with pytest.raises(ValueError, match="is not a day of the week"):
        Options.from_settings(monkey)


def test_digest_weekdays_use_the_same_parser() -> None:
    from bot.core.commands import UsageError
    from bot.digests.service.commands import parse_weekday as digest_weekday

    assert digest_weekday("Thurs") == 3
    with pytest.raises(UsageError, match="`monkey` is not a day of the week"):
        digest_weekday("monkey")
