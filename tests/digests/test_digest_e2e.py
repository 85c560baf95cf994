"""A scripted day in #general, then the configured 09:00 Paris digest: figures by hand count."""

from __future__ import annotations

import asyncio
import datetime as dt
import json

import time_machine

from bot.core.db import transaction, utcnow
from bot.digests import service
from bot.digests.models import DigestRun
from bot.digests.workflows import runner
from bot.incidents import service as incidents
from bot.incidents.service.state import Options
from bot.sandbox.ci_samples import github_headers, workflow_run
from bot.sandbox.harness import BotUnderTest
from bot.sandbox.seed import ALICE, BOB, CAROL, CI_ALERTS, DAVE, ERIN, GENERAL, STANDUP
from tests.digests.conftest import (
    PARIS,
    Clock,
    digest_bot,
    digests_in,
    fire,
    next_local,
    runs,
    text_of,
)

SECRET = "digest-test-github-secret"
CONFIG = {
    "digests": [{"channel": GENERAL, "cron": "0 9 * * *", "timezone": "Europe/Paris"}],
    "github_webhook_secret": SECRET,
    "ci": {"routes": [{"repo": "octo-org/octo-repo", "branches": ["main"], "channel": CI_ALERTS}]},
}


def before(fire_at: dt.datetime, hours: float = 0, minutes: float = 0) -> dt.datetime:
    return fire_at - dt.timedelta(hours=hours, minutes=minutes)


async def script_the_day(bot: BotUnderTest, clock: Clock, f: dt.datetime) -> None:
    """Thirteen messages by five people in the window, plus everything that must not count."""
    say = bot.slack.user_message
    clock.at(before(f, 30))
    await say(GENERAL, ALICE, "Old news from the day before?")
    clock.at(before(f, 23))
    deploy = await say(GENERAL, ALICE, "Deploy went out, anyone seeing errors?")
    clock.at(before(f, 22, 50))
    await say(GENERAL, BOB, "All quiet here", thread_ts=deploy)
    clock.at(before(f, 22))
    await say(GENERAL, CAROL, "Who owns the billing cron?")
    clock.at(before(f, 21))
    notes = await say(GENERAL, DAVE, "Release notes draft is up")
    for minute, person in zip((10, 20, 30, 40), (BOB, ERIN, ALICE, BOB), strict=True):
        clock.at(before(f, 21) + dt.timedelta(minutes=minute))
        await say(GENERAL, person, f"comment {minute}", thread_ts=notes)
    await bot.slack.user_react(GENERAL, notes, BOB, "+1")
    await bot.slack.user_react(GENERAL, notes, ALICE, "eyes")
    await bot.settle()
    await bot.slack.user_unreact(GENERAL, notes, ALICE, "eyes")
    clock.at(before(f, 20))
    vpn = await say(GENERAL, ERIN, "Is the VPN down?")
    clock.at(before(f, 19, 55))
    await say(GENERAL, ERIN, "nvm, it's back", thread_ts=vpn)
    clock.at(before(f, 19))
    lunch = await say(GENERAL, BOB, "lunch anyone?")
    clock.at(before(f, 18))
    typo = await say(GENERAL, ALICE, "Typo mesage")
    clock.at(before(f, 17))
    retro = await say(GENERAL, CAROL, "What time is the retro?")
    await say(STANDUP, BOB, "Is this counted in #general? No.")
    await bot.settle()
    await bot.slack.user_delete(GENERAL, lunch)
    await bot.slack.user_edit(GENERAL, typo, "Is the staging DB being migrated today?")
    await bot.slack.user_edit(GENERAL, retro, "Retro is at 3pm.")
    clock.at(before(f, 2))
    await say(GENERAL, DAVE, "Anyone reviewing PR 42?")
    own = bot.state.post(GENERAL, bot.state.bot_user_id, "a card of mine")
    base = {"type": "message", "channel": GENERAL, "channel_type": "channel"}
    await bot.slack.event({**base, "user": own.user, "text": own.text, "ts": own.ts})
    other = {"subtype": "bot_message", "bot_id": "B0DEPLOY", "text": "deployed v42?"}
    await bot.slack.event({**base, **other, "ts": bot.state.next_ts()})
    await bot.settle()


async def ci_runs(bot: BotUnderTest, f: dt.datetime) -> None:
    """main: red for 30 min, green, then red again from 2 h 56 before the digest."""
    for conclusion, sha, run_id, created in (
        ("failure", "a" * 40, 101, before(f, 10)),
        ("success", "b" * 40, 102, before(f, 9, 30)),
        ("failure", "c" * 40, 103, before(f, 3)),
    ):
        body = json.dumps(
            workflow_run(conclusion=conclusion, sha=sha, run_id=run_id, created=created)
        ).encode()
        response = await bot.http.post(
            "/webhooks/github", content=body, headers=github_headers(SECRET, body)
        )
        assert response.status_code in (200, 202), response.text


async def incidents_of_the_day(bot: BotUnderTest) -> None:
    for text in ("declare Checkout errors sev1", "declare Search is slow sev3"):
        response = await bot.slack.command("/incident", text, user=ALICE, channel=GENERAL)
        assert response.status_code == 200
    await bot.settle()
    response = await bot.slack.command(
        "/incident", "resolve #1 Rolled back", user=ALICE, channel=GENERAL
    )
    assert response.status_code == 200
    async with transaction(bot.rt.sessions) as session:
        opts = Options.from_settings(bot.rt.settings)
        await incidents.declare(
            session, opts, title="Leaked credentials", reporter=BOB, severity="sev1", private=True
        )
    await bot.settle()


# A Tuesday 09:00 in Paris; the test runs an hour before it (CI and incidents happen "now").
DIGEST_AT = dt.datetime(2026, 3, 3, 9, 0, tzinfo=PARIS).astimezone(dt.UTC)


async def test_a_scripted_day_gives_a_digest_matching_the_hand_count(db_url: str) -> None:
    f = DIGEST_AT
    clock = Clock(before(f, 23))
    with time_machine.travel(before(f, 1), tick=True):
        await a_scripted_day(db_url, clock, f)


async def a_scripted_day(db_url: str, clock: Clock, f: dt.datetime) -> None:
    async with digest_bot(db_url, clock, **CONFIG) as bot:
        await script_the_day(bot, clock, f)
        await incidents_of_the_day(bot)
        await ci_runs(bot, f)
        await bot.settle()
        assert await fire(bot, before(f, 1)) == []  # not due yet; yesterday's firing is stale
        created = await fire(bot, f + dt.timedelta(seconds=20))
        assert len(created) == 1
        assert await fire(bot, f + dt.timedelta(seconds=80)) == []  # once per firing

        [run] = await runs(bot)
        assert (run.status, run.period, run.fire_time, run.window_start) == (
            "ready",
            "daily",
            f,
            f - dt.timedelta(days=1),
        )
        activity = run.snapshot["activity"]
        assert (activity["messages"], activity["people"], activity["reactions"]) == (13, 5, 1)
        assert [t["replies"] for t in activity["threads"]] == [4, 1, 1]
        assert activity["threads"][0]["text"] == "Release notes draft is up"
        assert activity["unanswered_total"] == 3
        assert [q["text"] for q in activity["unanswered"]] == [
            "Who owns the billing cron?",
            "Is the VPN down?",
            "Is the staging DB being migrated today?",
        ]
        incidents_seen = run.snapshot["incidents"]
        assert [i["title"] for i in incidents_seen["opened"]] == [
            "Checkout errors",
            "Search is slow",
        ]
        assert [i["title"] for i in incidents_seen["resolved"]] == ["Checkout errors"]
        assert [i["title"] for i in incidents_seen["ongoing"]] == ["Search is slow"]
        ci = run.snapshot["ci"]
        assert ci["red_minutes"] == [
            {"repo": "octo-org/octo-repo", "branch": "main", "minutes": 206}
        ]
        assert (ci["breakages"], ci["fixed"], len(ci["red_now"])) == (2, 1, 1)

        [digest] = digests_in(bot)
        shown = text_of(digest)
        assert "Daily digest" in digest.text and "13 messages from 5 people" in digest.text
        assert "13 messages from 5 people · 1 reaction" in shown
        assert "4 replies" in shown and "Unanswered after 4 h: 3" in shown
        assert "PR 42" not in shown and "Old news" not in shown and "lunch" not in shown
        assert "Leaked credentials" not in shown  # private incidents stay private
        assert "2 opened · 1 resolved · 1 ongoing" in shown
        assert "octo-org/octo-repo `main` 3 h 26 min" in shown and "2 breakages (1 fixed)" in shown
        permalink = f"https://sandbox.slack.test/archives/{GENERAL}/p"
        assert f"<{permalink}" in shown  # the busiest thread links to itself
        window_start = (f - dt.timedelta(days=1)).astimezone(PARIS).strftime("%a %d %b %H:%M")
        assert f"since {window_start} · times in Europe/Paris" in shown
        assert window_start.endswith("09:00")


async def test_times_are_shown_in_the_digests_time_zone(db_url: str) -> None:
    config = {"digests": [{"channel": GENERAL, "cron": "30 8 * * *", "timezone": "Asia/Kolkata"}]}
    clock = Clock()
    async with digest_bot(db_url, clock, **config) as bot:
        async with bot.rt.sessions() as session:
            [spec] = await service.specs(session, bot.rt.settings.digests)
        f = service.next_fire(spec, utcnow())
        assert f is not None
        # Asked 6 hours before the digest, whatever the time of day the test runs at: inside
        # its day, and unanswered for longer than its 4 hours.
        clock.at(f - dt.timedelta(hours=6))
        question = await bot.slack.user_message(GENERAL, ALICE, "Who can review my change?")
        await bot.settle()
        asked = dt.datetime.fromtimestamp(float(question), dt.UTC)
        await fire(bot, f)
        [digest] = digests_in(bot)
        shown = text_of(digest)
        kolkata = asked.astimezone(dt.timezone(dt.timedelta(hours=5, minutes=30)))
        assert f"asked {kolkata:%a %H:%M}" in shown and "times in Asia/Kolkata" in shown
        assert "since" in shown and "08:30" in shown


async def test_a_digest_with_nothing_to_say_is_not_posted_unless_asked(db_url: str) -> None:
    config = {
        "digests": [
            {"channel": STANDUP, "cron": "0 9 * * *", "timezone": "UTC"},
            {"channel": GENERAL, "cron": "0 9 * * *", "timezone": "UTC", "post_empty": True},
        ]
    }
    async with digest_bot(db_url, **config) as bot:
        f = next_local(9, zone=dt.UTC)  # type: ignore[arg-type]
        assert len(await fire(bot, f)) == 2
        statuses = {run.channel: run.status for run in await runs(bot)}
        assert statuses == {STANDUP: "empty", GENERAL: "ready"}
        assert digests_in(bot, STANDUP) == []
        [quiet] = digests_in(bot, GENERAL)
        assert "nothing to report" in quiet.text


async def test_two_replicas_post_one_digest(db_url: str) -> None:
    every_minute = {"channel": GENERAL, "cron": "* * * * *", "timezone": "UTC", "post_empty": True}
    config = {"digests": [every_minute]}
    async with (
        digest_bot(db_url, **config) as first,
        digest_bot(db_url, sandbox=first.sandbox, **config) as second,
    ):
        now = utcnow()
        fired = await asyncio.gather(
            first.rt.scheduler.fire("digests.sweep", now),
            second.rt.scheduler.fire("digests.sweep", now),
        )
        assert sorted(fired) == [False, True]  # the core's claim: one replica runs the job
        [run] = await runs(first)
        # Even when both replicas sweep the same minute themselves, one run is created.
        same = run.fire_time + dt.timedelta(seconds=5)
        made = await asyncio.gather(*(runner.sweep(bot.rt, same) for bot in (first, second)))
        assert sorted(len(ids) for ids in made) == [0, 0]
        later = run.fire_time + dt.timedelta(minutes=1, seconds=5)
        made = await asyncio.gather(*(runner.sweep(bot.rt, later) for bot in (first, second)))
        assert sorted(len(ids) for ids in made) == [0, 1]
        for _ in range(2):
            await asyncio.gather(first.settle(), second.settle())
        assert [run.status for run in await runs(first)] == ["ready", "ready"]
        assert len(digests_in(first)) == 2  # one per firing, none twice
        posts = [
            call
            for call in first.state.calls_to("chat.postMessage")
            if call.args.get("channel") == GENERAL and "digest" in str(call.args.get("text"))
        ]
        assert len(posts) == 2


async def test_runs_are_one_per_digest_and_firing(db_url: str) -> None:
    async with digest_bot(db_url, **CONFIG) as bot:
        f = next_local(9)
        for offset in (0, 30, 59 * 60):
            await fire(bot, f + dt.timedelta(seconds=offset))
        await fire(bot, f + dt.timedelta(hours=2))  # past the grace period: skipped
        assert [run.fire_time for run in await runs(bot)] == [f]
        assert isinstance((await runs(bot))[0], DigestRun)
