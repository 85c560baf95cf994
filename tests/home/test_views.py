"""The App Home view (pure): banner, buttons only where they can act, untrusted text inert."""

from __future__ import annotations

import datetime as dt
import json

from bot.home.service import HomeState
from bot.home.service.sources import Banner, IncidentLine, PipelineLine, StandupLine, TaskLine
from bot.home.views import home_view

AT = dt.datetime(2026, 3, 3, 8, 0, tzinfo=dt.UTC)


def task(state: str, **extra: object) -> TaskLine:
    values: dict = {
        "task_id": 7,
        "state": state,
        "repo": "o/r",
        "instruction": "Fix <!here> the build",
        "pr_url": None,
        "error": None,
        "channel": "C1",
        "thread_ts": None,
        "cancellable": state in ("queued", "working"),
    }
    return TaskLine(**{**values, **extra})


def render(state: HomeState) -> str:
    view = home_view(state)
    assert view["type"] == "home" and len(view["blocks"]) <= 100
    return json.dumps(view["blocks"], ensure_ascii=False)


def test_banner_buttons_and_local_times() -> None:
    state = HomeState(
        user="U1",
        timezone="Asia/Kolkata",
        banner=Banner("red", "Payments <b>", "U2", "C9", AT),
        incidents=[
            IncidentLine(3, "DB *down*", "sev1", "identified", "C3", ("scribe",), False, AT)
        ],
        tasks=[task("working"), task("failed", error="boom", cancellable=False)],
        standups=[
            StandupLine("Daily", "C5", AT, AT + dt.timedelta(hours=2), "waiting", 42),
            StandupLine("Weekly", None, AT, AT, "answered", 43),
        ],
        pipelines=[PipelineLine("o/r", "main", "test", "red", AT, None)],
        ci_routed=True,
    )
    text = render(state)
    assert "Code red, level RED*: Payments &lt;b&gt;" in text and "Owner <@U2> · <#C9>" in text
    assert "you are scribe · <#C3>" in text
    assert text.count('"action_id": "agents.cancel"') == 1  # only the running task
    assert '"value": "7"' in text and "<!here>" not in text
    assert text.count('"action_id": "standups.write"') == 1 and '"value": "42"' in text
    assert "waiting for your answer (until 15:30)" in text  # 10:00 UTC in Kolkata
    assert ":red_circle: o/r `main` test: red since Tue 03 Mar 13:30" in text
    assert "Times in Asia/Kolkata" in text


def test_empty_home_says_so_and_names_what_could_not_load() -> None:
    text = render(HomeState(user="U1", timezone="UTC", unavailable=("CI",)))
    assert "No open incident involves you." in text
    assert "No agent tasks yet" in text and "No standup for you today." in text
    assert "No repository is routed to Slack." in text
    assert "Could not load: CI" in text
    assert "Code red" not in text
