"""The card and its thread lines, rendered from state: pure functions."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json

from bot.ci import views
from bot.ci.service.cards import BreakageState, RunInfo, SuspectInfo
from bot.ci.views.text import duration

T0 = dt.datetime(2026, 3, 2, 9, 0, tzinfo=dt.UTC)
EVIL = "<!channel> fix <https://evil.example|docs> & @here"


def run(run_id: int, sha: str, minute: int, **changes: object) -> RunInfo:
    info = RunInfo(
        id=run_id,
        sha=sha,
        number=str(run_id),
        attempt=1,
        conclusion="failure",
        url=f"https://github.com/o/r/actions/runs/{run_id}",
        title=None,
        commit_message=EVIL,
        author_name="Bob <b@x>",
        completed_at=T0 + dt.timedelta(minutes=minute),
        flaky=False,
    )
    return dataclasses.replace(info, **changes)


def state(**changes: object) -> BreakageState:
    base = BreakageState(
        id=1,
        provider="github",
        repo="octo-org/octo-repo",
        branch="main",
        workflow="test <b>",
        status="open",
        channel="C0CI",
        muted=False,
        opened_at=T0,
        closed_at=None,
        last_green_sha="0" * 40,
        red_runs=(run(1, "a" * 40, 0), run(2, "b" * 40, 10)),
        closing_run=None,
        suspects=(
            SuspectInfo("a" * 40, EVIL, "https://github.com/o/r/commit/aaa", "Bob", "U0BOB"),
            SuspectInfo("c" * 40, "other", None, "Bob", "U0BOB"),
            SuspectInfo("d" * 40, "more", None, "Dana", None),
        ),
        suspects_ready=True,
        owners=("U0CAROL", "not-a-user"),
        now=T0 + dt.timedelta(minutes=95),
        thread_ts="1.000",
    )
    return dataclasses.replace(base, **changes)


def everything(rendered: object) -> str:
    assert rendered is not None
    return rendered.text + json.dumps(  # type: ignore[attr-defined]
        [b if isinstance(b, dict) else b.to_dict() for b in rendered.blocks]  # type: ignore[attr-defined]
    )


def test_open_card_shows_status_runs_and_suspects_inertly() -> None:
    rendered = views.card(state())
    assert rendered is not None and rendered.channel == "C0CI" and rendered.thread_ts is None
    text = everything(rendered)
    assert "octo-org/octo-repo main is red" in rendered.text
    assert "1h 35m" in text
    assert "https://github.com/o/r/actions/runs/2|test &lt;b&gt; #2" in text
    assert "<!channel>" not in text and "<https://evil" not in text and "@here" not in text
    assert "&lt;https://evil.example|docs&gt; &amp;" in text
    assert "<@U0BOB>" not in text  # the card names people; the thread line pings them
    assert "`0000000`" in text


def test_muted_breakage_has_no_card() -> None:
    assert views.card(state(muted=True)) is None


def test_fixed_card_and_recovery_line() -> None:
    fixed = state(
        status="fixed",
        closed_at=T0 + dt.timedelta(minutes=72),
        closing_run=run(3, "e" * 40, 72, conclusion="success", commit_message="Fix it"),
    )
    assert "green again after 1h 12m" in views.card(fixed).text  # type: ignore[union-attr]
    line = views.recovery_line(fixed)
    assert line is not None and line.thread_ts == "1.000"
    assert "Green again after 1h 12m" in line.text and "`eeeeeee`" in line.text
    assert "Fix it" in line.text and "Bob &lt;b@x&gt;" in line.text
    assert views.recovery_line(state()) is None


def test_flaky_recovery_line() -> None:
    flaky = state(
        status="flaky",
        closed_at=T0 + dt.timedelta(minutes=9),
        closing_run=run(2, "b" * 40, 9, attempt=2, conclusion="success"),
    )
    line = views.recovery_line(flaky)
    assert line is not None
    assert (
        "Flaky" in line.text
        and "(attempt 2)" in line.text
        and "flake of *test &lt;b&gt;*" in line.text
    )


def test_each_suspect_is_mentioned_once() -> None:
    line = views.suspects_line(state())
    assert line is not None
    assert line.text.count("<@U0BOB>") == 1
    assert "`aaaaaaa`, `ccccccc`" in line.text and "Dana (`ddddddd`)" in line.text
    nobody = state(suspects=(SuspectInfo("d" * 40, "x", None, "Dana", None),))
    assert views.suspects_line(nobody) is None


def test_owners_line_mentions_valid_user_ids_only() -> None:
    line = views.owners_line(state())
    assert line is not None and "<@U0CAROL>" in line.text and "not-a-user" not in line.text
    assert "red for 1h 35m" in line.text
    assert views.owners_line(state(owners=())) is None


def test_run_line_in_the_card_thread() -> None:
    from bot.ci.service.cards import RunLineState

    line = views.run_line(RunLineState(breakage=state(), run=run(2, "b" * 40, 10)))
    assert line is not None and line.thread_ts == "1.000"
    assert "Still red" in line.text and "`bbbbbbb`" in line.text and "<!channel>" not in line.text


def test_links_only_for_plain_http_urls() -> None:
    sneaky = state(red_runs=(run(1, "a" * 40, 0, url="javascript:alert(1)|x"),))
    assert "javascript" not in everything(views.card(sneaky))


def test_durations_read_naturally() -> None:
    assert duration(dt.timedelta(seconds=30)) == "under a minute"
    assert duration(dt.timedelta(minutes=59)) == "59m"
    assert duration(dt.timedelta(hours=2)) == "2h"
    assert duration(dt.timedelta(days=3, hours=4, minutes=5)) == "3d 4h"
