"""The digest view: pure, untrusted text inert, links only when safe, times local."""

from __future__ import annotations

import datetime as dt
import json

from bot.digests.views import DigestState, digest_view, duration, link, plain, snippet
from bot.digests.views.chart import render_png

FIRE = dt.datetime(2026, 3, 3, 8, 0, tzinfo=dt.UTC)


def state(snapshot: dict, **extra: object) -> DigestState:
    values: dict = {
        "run_id": 1,
        "channel": "C0ENG",
        "timezone": "Europe/Paris",
        "period": "daily",
        "fire_time": FIRE,
        "window_start": FIRE - dt.timedelta(days=1),
        "snapshot": snapshot,
    }
    return DigestState(**{**values, **extra})


def shown(rendered_state: DigestState) -> str:
    rendered = digest_view(rendered_state)
    blocks = [b.to_dict() for b in rendered.blocks]  # type: ignore[union-attr]
    return rendered.text + json.dumps(blocks, ensure_ascii=False)


ACTIVITY = {
    "messages": 3,
    "people": 2,
    "reactions": 0,
    "threads": [{"ts": "1.1", "user": "U1", "text": "<!channel> look <@U2> *here*", "replies": 2}],
    "unanswered": [
        {"ts": "2.2", "user": "U2", "text": "why <https://x.test/?a=1|this>?", "posted_at": None}
    ],
    "unanswered_total": 1,
    "unanswered_hours": 4.0,
}


def test_untrusted_text_is_inert_and_links_come_from_permalinks() -> None:
    text = shown(state({"activity": ACTIVITY}, links={"1.1": "https://slack.test/p11"}))
    assert "<!channel>" not in text and "<@U2>" not in text  # nobody is pinged
    assert "<https://slack.test/p11|look @U2 *here*>" in text
    assert "why this?" in text  # the label of a link, without the markup
    assert "2 replies" in text and "Unanswered after 4 h: 1" in text


def test_sections_without_content_are_left_out() -> None:
    text = shown(state({"activity": ACTIVITY}))
    assert "*This channel*" in text
    assert "*Incidents*" not in text and "*CI*" not in text and "*Agents*" not in text
    quiet = shown(state({}))
    assert "nothing to report" in quiet


def test_agents_and_code_red_lines() -> None:
    snapshot = {
        "agents": {
            "prs": [
                {"repo": "o/r", "instruction": "Fix &lt;b&gt;", "pr_url": "https://gh.test/pr/1"},
                {"repo": "o/r", "instruction": "Forge", "pr_url": "javascript:alert(1)|x"},
            ],
            "failures": [{"repo": "o/r", "instruction": "Try", "error": "boom"}],
            "active": 2,
        },
        "standups": {
            "standups": [{"name": "Daily", "asked": 4, "answered": 3}],
            "blockers": [
                {"standup": "Daily", "user": "U9", "text": "waiting on infra", "since": ""}
            ],
            "codered": {"level": "orange", "title": "Payments", "since": None},
        },
    }
    text = shown(state(snapshot))
    assert "2 PRs opened · 1 failure · 2 in progress" in text
    assert "<https://gh.test/pr/1|o/r: Fix &lt;b&gt;>" in text
    assert "javascript:" not in text.split("Forge")[0][-40:]  # an unsafe URL is not linked
    assert "Code red, level *orange*: Payments" in text
    assert "Daily: 3 of 4 answered (75%)" in text and "<@U9> (Daily): waiting on infra" in text


def test_times_are_local_to_the_digest() -> None:
    snapshot = {
        "incidents": {
            "opened": [],
            "resolved": [],
            "ongoing": [
                {
                    "id": 4,
                    "title": "DB",
                    "severity": "sev1",
                    "status": "investigating",
                    "channel": None,
                    "declared_at": "2026-03-02T13:05:00+00:00",
                }
            ],
            "mttr_minutes": None,
        }
    }
    assert "since Mon 14:05" in shown(state(snapshot))
    assert "since Mon 18:35" in shown(state(snapshot, timezone="Asia/Kolkata"))
    assert "since Mon 02 Mar 09:00" in shown(state(snapshot))  # the window, 09:00 Paris


def test_helpers() -> None:
    assert plain("<@U1|alice> see <#C1|general> and <https://a.test|docs> <!here>") == (
        "@alice see #general and docs"
    )
    assert plain("<@U1> &lt;b&gt; &amp; <https://a.test>") == "@U1 <b> & https://a.test"
    assert snippet(None) == "(text no longer kept)"
    assert link("https://ok.test/x", "x") == "<https://ok.test/x|x>"
    assert link("https://bad.test/a|b", "x") == "x"
    assert [duration(m) for m in (0.2, 45, 60, 80, 1500)] == [
        "under a minute",
        "45 min",
        "1 h",
        "1 h 20 min",
        "1 d 1 h",
    ]


def test_chart_is_a_png_of_the_expected_size() -> None:
    days = [dt.date(2026, 2, 1) + dt.timedelta(days=n) for n in range(28)]
    png = render_png(days, [n % 3 for n in range(28)], [float(n * 5) for n in range(28)], "T")
    assert png.startswith(b"\x89PNG\r\n\x1a\n")
    import matplotlib.image

    image = matplotlib.image.imread(__import__("io").BytesIO(png), format="png")
    assert image.shape[:2] == (500, 1000)


def test_incidents_are_named_by_their_workspace_number() -> None:
    """A snapshot names the number people know; one stored before numbers were counted per
    workspace has only the id, which was the number then."""
    item = {"title": "DB", "severity": "sev1", "status": "investigating", "channel": None,
            "declared_at": "2026-03-02T13:05:00+00:00"}  # fmt: skip
    for entry, shown_as in (({"id": 904, "number": 4}, "#4 DB"), ({"id": 4}, "#4 DB")):
        snapshot = {
            "incidents": {
                "opened": [],
                "resolved": [],
                "ongoing": [{**item, **entry}],
                "mttr_minutes": None,
            }
        }
        text = shown(state(snapshot))
        assert shown_as in text and "#904" not in text, text
