"""Backends' raw reports as updates: A2A events, CLI JSON lines, diffs (pure)."""

from __future__ import annotations

from a2a.helpers import new_data_part
from a2a.types import (
    Artifact,
    Message,
    Part,
    Role,
    StreamResponse,
    Task,
    TaskArtifactUpdateEvent,
    TaskState,
    TaskStatus,
    TaskStatusUpdateEvent,
)

from bot.agents import models as m
from bot.agents.backends.a2a_events import Tracker, outcome_from_artifacts
from bot.agents.backends.base import diff_numbers, numstat_numbers, stat_text
from bot.agents.backends.jsonlines import Line, read_line

DIFF = """diff --git a/NOTES.md b/NOTES.md
--- a/NOTES.md
+++ b/NOTES.md
@@ -1 +1,3 @@
 # Notes
+- one
+- two
diff --git a/src/x.py b/src/x.py
--- a/src/x.py
+++ b/src/x.py
@@ -1,2 +1 @@
-old = 1
-older = 2
+new = 1
"""


def _status(state: TaskState, text: str = "") -> StreamResponse:
    message = Message(message_id="m", role=Role.ROLE_AGENT, parts=[Part(text=text)] if text else [])
    status = TaskStatus(state=state, message=message)
    return StreamResponse(status_update=TaskStatusUpdateEvent(task_id="t1", status=status))


def test_a2a_stream_becomes_steps_questions_and_a_result() -> None:
    tracker = Tracker()
    first = tracker.read(
        StreamResponse(task=Task(id="t1", status=TaskStatus(state=TaskState.TASK_STATE_SUBMITTED)))
    )
    assert first and first.backend_task_id == "t1" and first.state == m.SUBMITTED
    step = tracker.read(_status(TaskState.TASK_STATE_WORKING, "Editing NOTES.md"))
    assert step and (step.state, step.step) == (m.WORKING, "Editing NOTES.md")
    asked = tracker.read(_status(TaskState.TASK_STATE_INPUT_REQUIRED, "Which file?"))
    assert asked and (asked.state, asked.question) == (m.INPUT_REQUIRED, "Which file?")
    artifact = Artifact(
        artifact_id="a1",
        name="diff",
        parts=[Part(text=DIFF, media_type="text/x-diff"), new_data_part({"tests": "9 passed"})],
    )
    assert (
        tracker.read(StreamResponse(artifact_update=TaskArtifactUpdateEvent(artifact=artifact)))
        is None
    )
    done = tracker.read(
        _status(TaskState.TASK_STATE_COMPLETED, "See https://github.com/o/r/pull/5")
    )
    assert done and done.state == m.COMPLETED and done.outcome
    assert (done.outcome.files_changed, done.outcome.lines_added, done.outcome.lines_removed) == (
        2,
        3,
        2,
    )
    assert (
        done.outcome.tests == "9 passed" and done.outcome.pr_url == "https://github.com/o/r/pull/5"
    )
    failed = Tracker().read(_status(TaskState.TASK_STATE_REJECTED, "not my job"))
    assert failed and (failed.state, failed.error) == (m.FAILED, "not my job")


def test_agent_counts_win_over_the_diff() -> None:
    data = new_data_part({"files_changed": 4, "lines_added": 40, "lines_removed": 1, "branch": "b"})
    outcome = outcome_from_artifacts([Artifact(artifact_id="x", parts=[data])], "done")
    assert (outcome.files_changed, outcome.lines_added, outcome.branch) == (4, 40, "b")
    assert outcome.diff_stat is None and outcome.summary == "done"


def test_diff_and_numstat_agree() -> None:
    numbers = diff_numbers(DIFF)
    assert numbers.files == {"NOTES.md": (2, 0), "src/x.py": (1, 2)}
    assert numstat_numbers("2\t0\tNOTES.md\n1\t2\tsrc/x.py\n-\t-\tlogo.png\n").added == 3
    assert stat_text(numbers).splitlines()[-1] == "2 files changed, +3 -2"


def test_cli_json_lines_from_several_agents() -> None:
    codex = read_line('{"type":"item.completed","item":{"type":"agent_message","text":"Done."}}')
    assert codex.step == "Done." and codex.summary == "Done."
    command = read_line(
        '{"type":"item.started","item":{"type":"command_execution","command":"ls"}}'
    )
    assert command.step == "Running `ls`"
    claude = read_line(
        '{"type":"assistant","message":{"content":[{"type":"tool_use","name":"Edit"}]}}'
    )
    assert claude.step == "Using Edit"
    result = read_line('{"type":"result","is_error":false,"result":"All good"}')
    assert result.summary == "All good"
    error = read_line('{"type":"result","is_error":true,"result":"quota"}')
    assert error.error == "quota"
    plain = read_line('{"type":"result","summary":"ok","tests":"5 passed"}')
    assert (plain.summary, plain.tests) == ("ok", "5 passed")
    assert read_line("not json at all").step == "not json at all"
    assert read_line("[1]").step is None


def test_the_cli_agent_does_not_inherit_the_bots_secrets() -> None:
    from bot.agents.backends.command import agent_environment

    bots = {
        "PATH": "/usr/bin",
        "LANG": "C.UTF-8",
        "OPENAI_API_KEY": "sk-the-bots",
        "SLACK_BOT_TOKEN": "xoxb-1",
        "SLACK_SIGNING_SECRET": "s",
        "DATABASE_URL": "postgresql://u:p@db/opsbot",
        "AGENTS__GITHUB_TOKEN": "ghp_x",
        "GITHUB_WEBHOOK_SECRET": "w",
        "AWS_SECRET_ACCESS_KEY": "a",
        "PROXY_FOR_AGENT": "http://proxy",
    }
    env = agent_environment(bots, {"OPENAI_API_KEY": "sk-agent"}, ("PROXY_FOR_AGENT",))
    assert env == {
        "PATH": "/usr/bin",
        "LANG": "C.UTF-8",
        "OPENAI_API_KEY": "sk-agent",  # its own key, from its own setting
        "PROXY_FOR_AGENT": "http://proxy",  # named by the operator
    }


def test_an_error_line_is_a_notice_only_in_codexs_own_stream() -> None:
    notice = '{"type":"error","message":"Reconnecting... 2/5"}'
    assert read_line(notice, "codex") == Line(step="Reconnecting... 2/5")
    assert read_line(notice).error == "Reconnecting... 2/5"  # a plain agent's error
    failed = '{"type":"turn.failed","error":{"message":"quota exceeded"}}'
    assert read_line(failed, "codex").error == "quota exceeded"
