"""Cards, question lines, results and the comparison, rendered from state (pure)."""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import replace

from bot.agents import models as m
from bot.agents import views
from bot.agents.views.modals import context_modal, escaped_chunks

NOW = dt.datetime(2026, 3, 2, 10, 0, tzinfo=dt.UTC)
TASK = views.TaskView(
    task_id=7,
    request_id=3,
    attempt=1,
    attempts=1,
    state=m.WORKING,
    channel="C0DEV",
    thread_ts="1.0",
    requester="U0BOB",
    instruction="fix <!channel> the *login* test",
    repo="octo-org/octo-repo",
    backend="codex",
    base_branch=None,
    branch="opsbot/agent-3-1",
    latest_step="Running `pytest` <@U0ALL>",
    question=None,
    summary=None,
    pr_url=None,
    diff_stat=None,
    diff_preview=None,
    files_changed=None,
    lines_added=None,
    lines_removed=None,
    tests=None,
    error=None,
    canceled_by=None,
    created_at=NOW - dt.timedelta(minutes=4),
    started_at=NOW - dt.timedelta(minutes=3, seconds=5),
    finished_at=None,
    now=NOW,
)


def _all(rendered: views.Rendered) -> str:
    blocks = [b.to_dict() if hasattr(b, "to_dict") else b for b in rendered.blocks]
    return rendered.text + json.dumps(blocks)


def test_working_card_shows_progress_and_a_cancel_button() -> None:
    card = views.card(TASK)
    text = _all(card)
    assert card.thread_ts == "1.0" and card.channel == "C0DEV"
    assert "*working*" in text and "3m 05s" in text and "backend `codex`" in text
    assert "Running `pytest` @U0ALL" in text  # agent text mentions nobody
    assert "<!channel>" not in text
    assert '"action_id": "agents.cancel"' in text and '"value": "7"' in text
    assert '"action_id": "agents.show_context"' in text


def test_finished_cards_show_the_result_and_no_cancel() -> None:
    done = replace(
        TASK,
        state=m.COMPLETED,
        pr_url="https://github.com/octo-org/octo-repo/pull/9",
        files_changed=2,
        lines_added=10,
        lines_removed=3,
        tests="12 passed",
        summary="Retries <@U0ALL> flaky <!here> calls",
        diff_stat="a.py | +10 -3",
        finished_at=NOW,
    )
    text = _all(views.card(done))
    assert "<https://github.com/octo-org/octo-repo/pull/9|Pull request> (2 files, +10 -3)" in text
    assert "12 passed" in text and "a.py | +10 -3" in text
    assert "Retries @U0ALL flaky  calls" in text
    assert "agents.cancel" not in text

    failed = replace(TASK, state=m.FAILED, error="backend <down>", finished_at=NOW)
    assert "*Failed:* backend &lt;down&gt;" in _all(views.card(failed))
    canceled = replace(TASK, state=m.CANCELED, canceled_by="U0ERIN", finished_at=NOW)
    assert "Canceled by <@U0ERIN>" in _all(views.card(canceled))


def test_only_plain_web_addresses_become_links() -> None:
    sneaky = replace(TASK, state=m.COMPLETED, pr_url="https://x.test/a|click <!here>")
    text = _all(views.card(sneaky))
    assert "|Pull request>" not in text and "Pull request: https://x.test/a|click" in text


def test_question_and_result_lines_name_the_requester() -> None:
    asking = views.question(views.QuestionView(TASK, "which <file>?"))
    assert asking.thread_ts == "1.0"
    assert asking.text.startswith("<@U0BOB> :question: The agent asks: which &lt;file&gt;?")
    assert views.result(TASK) is None
    done = replace(TASK, state=m.COMPLETED, branch="b", files_changed=1, lines_added=1)
    result = views.result(done)
    assert result and result.text == "<@U0BOB> :white_check_mark: The agent finished: " + (
        "Branch `b` (1 file, +1 -0)"
    )


def test_comparison_waits_for_every_attempt() -> None:
    first = replace(
        TASK, attempts=2, state=m.COMPLETED, files_changed=1, lines_added=4, tests="3 passed"
    )
    second = replace(TASK, attempt=2, attempts=2, task_id=8, state=m.WORKING)
    view = views.ComparisonView("C0DEV", "1.0", "U0BOB", (first, second))
    assert views.comparison(view) is None
    failed = replace(second, state=m.FAILED, error="tests failed")
    rendered = views.comparison(replace(view, tasks=(first, failed)))
    assert rendered is not None
    assert "2 attempts are done* (1 completed)" in rendered.text
    assert "*Attempt 1* · :white_check_mark: completed · 1 file, +4 -0 · tests: 3 passed" in (
        rendered.text
    )
    assert "*Attempt 2* · :x: failed · no diff reported · tests: not reported" in rendered.text


def test_context_modal_shows_the_payload_as_data() -> None:
    payload = "> do <b>this</b> & that\n" * 400
    modal = context_modal(payload, {"messages": 3, "omitted": 1, "redactions": {"x": 2}})
    text = json.dumps(modal.to_dict())
    assert "3 thread message(s) sent, 1 older left out, 2 secret(s) redacted" in text
    assert "&lt;b&gt;this&lt;/b&gt; &amp; that" in text
    sections = [b for b in modal.to_dict()["blocks"] if b["type"] == "section"]
    assert all(len(b["text"]["text"]) <= 3000 for b in sections)
    assert "".join(escaped_chunks(payload)).count("&amp;") == 400


def test_elapsed_reads_naturally() -> None:
    start = NOW
    assert views.elapsed(start, start + dt.timedelta(seconds=42)) == "42s"
    assert views.elapsed(start, start + dt.timedelta(minutes=61, seconds=5)) == "1h 01m"
