"""A2A stream events as backend updates (pure): states, steps, questions, diffs, PR links."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from a2a.helpers import get_message_text
from a2a.types import Artifact, Message, StreamResponse, Task, TaskState
from google.protobuf.json_format import MessageToDict

from bot.agents import models as m
from bot.agents.backends.base import (
    DiffNumbers,
    Outcome,
    Update,
    diff_numbers,
    outcome_from_diff,
)

STATES = {
    TaskState.TASK_STATE_SUBMITTED: m.SUBMITTED,
    TaskState.TASK_STATE_WORKING: m.WORKING,
    TaskState.TASK_STATE_INPUT_REQUIRED: m.INPUT_REQUIRED,
    TaskState.TASK_STATE_AUTH_REQUIRED: m.INPUT_REQUIRED,
    TaskState.TASK_STATE_COMPLETED: m.COMPLETED,
    TaskState.TASK_STATE_FAILED: m.FAILED,
    TaskState.TASK_STATE_REJECTED: m.FAILED,
    TaskState.TASK_STATE_CANCELED: m.CANCELED,
}
RESTING = frozenset({m.INPUT_REQUIRED, *m.TERMINAL})
_PR_URL = re.compile(r"https://([\w.-]+)/[\w.-]+/[\w.-]+/pull/\d+")
DEFAULT_FORGE_HOST = "github.com"


def forge_host(api_url: str | None) -> str:
    """The web host of the configured forge: api.github.com -> github.com; GHE keeps its host."""
    host = (urlsplit(api_url or "").hostname or "").lower()
    if not host or host == "api.github.com":
        return DEFAULT_FORGE_HOST
    return host.removeprefix("api.") if host.startswith("api.") else host


@dataclass
class Tracker:
    """What one stream has told us so far: the task id, its state and its artifacts."""

    task_id: str | None = None
    state: str | None = None
    artifacts: dict[str, Artifact] = field(default_factory=dict)
    # An agent can write any address; only one on the configured forge is shown as "the PR".
    forge: str = DEFAULT_FORGE_HOST

    def add_artifact(self, artifact: Artifact, append: bool = False) -> None:
        known = self.artifacts.get(artifact.artifact_id)
        if append and known is not None:
            known.parts.extend(artifact.parts)
            return
        copy = Artifact()
        copy.CopyFrom(artifact)
        self.artifacts[artifact.artifact_id or str(len(self.artifacts))] = copy

    def outcome(self, summary: str | None) -> Outcome:
        return outcome_from_artifacts(list(self.artifacts.values()), summary, self.forge)

    def read(self, event: StreamResponse) -> Update | None:
        """Fold one event in; the update to record, or None when there is nothing to say."""
        kind = event.WhichOneof("payload")
        if kind == "task":
            return self._task(event.task)
        if kind == "status_update":
            update = event.status_update
            self.task_id = self.task_id or update.task_id or None
            return self._status(update.status.state, update.status.message)
        if kind == "artifact_update":
            self.task_id = self.task_id or event.artifact_update.task_id or None
            self.add_artifact(event.artifact_update.artifact, event.artifact_update.append)
            return None
        if kind == "message":
            # A direct answer without a task: the exchange is over.
            self.state = m.COMPLETED
            return Update(state=m.COMPLETED, outcome=self.outcome(_text(event.message)))
        return None

    def _task(self, task: Task) -> Update:
        self.task_id = task.id or self.task_id
        for artifact in task.artifacts:
            self.add_artifact(artifact)
        update = self._status(task.status.state, task.status.message)
        return Update(
            state=update.state,
            step=update.step,
            question=update.question,
            backend_task_id=task.id or None,
            outcome=update.outcome,
            error=update.error,
        )

    def _status(self, state: Any, message: Message) -> Update:
        mapped = STATES.get(state, m.WORKING)
        self.state = mapped
        text = _text(message)
        task_id = self.task_id
        if mapped == m.INPUT_REQUIRED:
            return Update(state=mapped, question=text or None, backend_task_id=task_id)
        if mapped == m.COMPLETED:
            return Update(
                state=mapped,
                step="Done",
                outcome=self.outcome(text or None),
                backend_task_id=task_id,
            )
        if mapped == m.FAILED:
            reason = text or "the agent reported a failure without a reason"
            return Update(
                state=mapped, error=reason, outcome=self.outcome(None), backend_task_id=task_id
            )
        if mapped == m.CANCELED:
            return Update(
                state=mapped, step=text or "Canceled by the agent", backend_task_id=task_id
            )
        return Update(state=mapped, step=text or None, backend_task_id=task_id)


def _text(message: Message) -> str:
    return get_message_text(message).strip() if message.parts else ""


def _data(artifacts: list[Artifact]) -> dict[str, Any]:
    merged: dict[str, Any] = {}
    for artifact in artifacts:
        for part in artifact.parts:
            if part.HasField("data"):
                value = MessageToDict(part.data)
                if isinstance(value, dict):
                    merged.update(value)
    return merged


def _diff(artifacts: list[Artifact]) -> str | None:
    chunks = []
    for artifact in artifacts:
        for part in artifact.parts:
            is_diff = "diff" in part.media_type or "diff" in artifact.name.lower()
            if part.text and (is_diff or part.text.startswith("diff --git")):
                chunks.append(part.text)
    return "\n".join(chunks) if chunks else None


def _int(value: Any) -> int | None:
    if isinstance(value, int | float) and not isinstance(value, bool):
        return int(value)
    return None


def _on_forge(url: str, forge: str) -> str | None:
    found = _PR_URL.fullmatch(url.strip())
    return found.group(0) if found and found.group(1).lower() == forge else None


def _pr_url(
    data: dict[str, Any], artifacts: list[Artifact], summary: str | None, forge: str
) -> str | None:
    for key in ("pr_url", "pull_request_url", "pull_request", "pr"):
        if isinstance(data.get(key), str):
            found = _on_forge(str(data[key]), forge)
            if found:
                return found
    texts = [summary or ""] + [p.url or p.text for a in artifacts for p in a.parts]
    for text in texts:
        for match in _PR_URL.finditer(text or ""):
            if match.group(1).lower() == forge:
                return match.group(0)
    return None


def outcome_from_artifacts(
    artifacts: list[Artifact], summary: str | None, forge: str = DEFAULT_FORGE_HOST
) -> Outcome:
    """Counts come from the agent's data when given, else from its diff."""
    data = _data(artifacts)
    diff = _diff(artifacts)
    numbers = diff_numbers(diff) if diff else DiffNumbers({})
    summary = summary or (str(data["summary"]) if data.get("summary") else None)
    tests = data.get("tests")
    branch = data.get("branch")
    base = outcome_from_diff(
        numbers,
        summary=summary,
        branch=str(branch) if branch else None,
        tests=str(tests) if tests else None,
        pr_url=_pr_url(data, artifacts, summary, forge),
    )
    files = _int(data.get("files_changed"))
    added = _int(data.get("lines_added", data.get("additions")))
    removed = _int(data.get("lines_removed", data.get("deletions")))
    if not diff and files is None:
        return Outcome(summary=summary, pr_url=base.pr_url, branch=base.branch, tests=base.tests)
    return Outcome(
        summary=summary,
        pr_url=base.pr_url,
        branch=base.branch,
        diff_stat=base.diff_stat if diff else None,
        files_changed=files if files is not None else base.files_changed,
        lines_added=added if added is not None else base.lines_added,
        lines_removed=removed if removed is not None else base.lines_removed,
        tests=base.tests,
    )
