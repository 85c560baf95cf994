"""When digests fire, what window they cover, and how `/ops digest` text is read (pure)."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest

from bot.core.commands import UsageError
from bot.digests.service import DigestSpec, due_fire, latest_fire, schedule_cron, window_for
from bot.digests.service.commands import DigestRequest, parse_digest

PARIS = ZoneInfo("Europe/Paris")


def spec(cron: str, timezone: str = "Europe/Paris", **extra: object) -> DigestSpec:
    return DigestSpec(
        key="k", channel="C0X", cron=cron, timezone=timezone, source="config", **extra
    )  # type: ignore[arg-type]


def paris(*args: int) -> dt.datetime:
    return dt.datetime(*args, tzinfo=PARIS).astimezone(dt.UTC)


def test_latest_fire_is_the_last_firing_at_or_before_the_moment() -> None:
    trigger = spec("0 9 * * mon-fri").trigger()
    monday_nine = paris(2026, 3, 2, 9, 0)
    assert latest_fire(trigger, monday_nine) == monday_nine
    assert latest_fire(trigger, monday_nine, strict=True) == paris(2026, 2, 27, 9, 0)  # Friday
    assert latest_fire(trigger, paris(2026, 3, 2, 8, 59)) == paris(2026, 2, 27, 9, 0)
    every_minute = spec("* * * * *", "UTC").trigger()
    moment = dt.datetime(2026, 3, 2, 10, 0, 42, tzinfo=dt.UTC)
    assert latest_fire(every_minute, moment) == moment.replace(second=0)


def test_a_digest_covers_the_time_since_its_previous_firing() -> None:
    weekdays = spec("0 9 * * mon-fri")
    assert window_for(weekdays, paris(2026, 3, 3, 9, 0)) == (paris(2026, 3, 2, 9, 0), "daily")
    # Monday's covers the weekend too, and is still a daily digest.
    assert window_for(weekdays, paris(2026, 3, 2, 9, 0)) == (paris(2026, 2, 27, 9, 0), "daily")
    weekly = spec("30 8 * * mon")
    assert window_for(weekly, paris(2026, 3, 2, 8, 30)) == (paris(2026, 2, 23, 8, 30), "weekly")
    monthly = spec("0 9 1 * *")
    start, period = window_for(monthly, paris(2026, 3, 1, 9, 0))
    assert (start, period) == (paris(2026, 2, 22, 9, 0), "weekly")  # at most a week


def test_daylight_saving_keeps_local_nine_oclock() -> None:
    daily = spec("0 9 * * *")
    # Paris moves to summer time on 29 March 2026: the window is 23 hours long.
    fire = paris(2026, 3, 29, 9, 0)
    start, _ = window_for(daily, fire)
    assert start == paris(2026, 3, 28, 9, 0) and fire - start == dt.timedelta(hours=23)
    assert fire.hour == 7  # 09:00 CEST is 07:00 UTC


def test_due_only_within_the_grace_period_and_after_it_was_set() -> None:
    daily = spec("0 9 * * *")
    nine = paris(2026, 3, 3, 9, 0)
    assert due_fire(daily, nine + dt.timedelta(minutes=59)) == nine
    assert due_fire(daily, nine + dt.timedelta(minutes=61)) is None  # down too long: skipped
    later = spec("0 9 * * *", not_before=nine + dt.timedelta(minutes=5))
    assert due_fire(later, nine + dt.timedelta(minutes=10)) is None


def test_schedule_cron() -> None:
    assert schedule_cron("daily", None, 9 * 60) == "0 9 * * *"
    assert schedule_cron("weekly", 0, 8 * 60 + 30) == "30 8 * * mon"
    assert schedule_cron("weekly", 6, 0) == "0 0 * * sun"


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        ([], DigestRequest("status")),
        (["off"], DigestRequest("off")),
        (["NOW"], DigestRequest("now")),
        (["daily", "09:00"], DigestRequest("set", "daily", None, 540, None)),
        (["daily", "7h05", "UTC"], DigestRequest("set", "daily", None, 425, "UTC")),
        (["weekly", "Friday", "17:30"], DigestRequest("set", "weekly", 4, 1050, None)),
        (
            ["weekly", "mon", "9:00", "Asia/Tokyo"],
            DigestRequest("set", "weekly", 0, 540, "Asia/Tokyo"),
        ),
    ],
)
def test_parse_digest(args: list[str], expected: DigestRequest) -> None:
    assert parse_digest(args) == expected


@pytest.mark.parametrize(
    "args",
    [["daily"], ["daily", "9"], ["daily", "24:00"], ["weekly", "mo", "09:00"], ["weekly", "09:00"],
     ["daily", "09:00", "Nowhere/City"], ["off", "now"], ["monthly", "1", "09:00"]],
)  # fmt: skip
def test_parse_digest_refuses_what_it_cannot_read(args: list[str]) -> None:
    with pytest.raises(UsageError):
        parse_digest(args)
