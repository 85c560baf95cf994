"""The rows each agents view is drawn from (`Watch`): changing them marks the view dirty.

A task's card follows every change of its task but the runner's bookkeeping (the lease, the
drive count). The messages posted once in the thread follow the change that calls for them: a
new question, the task finishing (its result, or the comparison once every attempt is over), a
request made with `/agent run` (the parent message its thread hangs off).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sqlalchemy import ColumnElement, Select, or_, select

from bot.agents import models as m
from bot.agents import service
from bot.agents.models import AgentRequest, AgentTask
from bot.core.watches import Watch, written, wrote

# Columns of a task the card does not show: the runner writes them while driving.
BOOKKEEPING = frozenset({"drives", "lease_owner", "lease_expires"})
# The parent message shows the request as it was made; these never change afterwards.
PARENT_SHOWS = ("requester", "instruction", "repo", "backend", "attempts", "channel")

Keys = Iterable[str | int | None] | Select[Any]


def card(row: AgentTask) -> Keys:
    columns = written(row)
    return [row.id] if columns is None or columns - BOOKKEEPING else []


def parent(row: AgentRequest) -> Keys:
    """Only `/agent run` requests have a parent message: their thread_ts is not known yet."""
    return [row.id] if row.thread_ts is None and wrote(row, *PARENT_SHOWS) else []


def question(row: AgentTask) -> Keys:
    """One message per question the agent asks (record `<task>.<number>`)."""
    if row.state != m.INPUT_REQUIRED or not row.asked or not wrote(row, "asked"):
        return []
    return [f"{row.id}.{len(row.asked)}"]


def _finishes(row: AgentTask) -> bool:
    return row.state in m.TERMINAL and wrote(row, "state")


def result(row: AgentTask) -> Keys:
    """The result line of a single-attempt request, once its task is over."""
    if not _finishes(row):
        return []
    return (
        select(AgentTask.id)
        .join(AgentRequest, AgentRequest.id == AgentTask.request_id)
        .where(AgentTask.id == row.id, AgentRequest.attempts == 1)
    )


def _compared() -> ColumnElement[bool]:
    """Requests whose attempts are compared: several attempts, or a hand-off (whose comparison
    is where its reviewers are asked)."""
    return or_(AgentRequest.attempts > 1, AgentRequest.source == service.HANDOFF)


def comparison(row: AgentTask) -> Keys:
    """The comparison of a request's attempts, when the last of them finishes.

    The query runs on the flush of the finishing task, which `service` makes after locking the
    request: of attempts finishing together, the last to commit sees all the others over.
    """
    if wrote(row, "pr_url", "ci_state") and row.state in m.TERMINAL:  # a PR, or CI on it
        return select(AgentRequest.id).where(AgentRequest.id == row.request_id, _compared())
    if not _finishes(row):
        return []
    still_open = select(AgentTask.id).where(
        AgentTask.request_id == row.request_id, AgentTask.state.not_in(list(m.TERMINAL))
    )
    return select(AgentRequest.id).where(
        AgentRequest.id == row.request_id, _compared(), ~still_open.exists()
    )


def chosen(row: AgentRequest) -> Keys:
    """The comparison marks the attempt follow-ups continue."""
    return [row.id] if row.attempts > 1 and wrote(row, "chosen_attempt") else []


VIEWS: dict[str, list[Watch]] = {
    service.CARD: [Watch(AgentTask, card)],
    service.PARENT: [Watch(AgentRequest, parent)],
    service.QUESTION: [Watch(AgentTask, question)],
    service.RESULT: [Watch(AgentTask, result)],
    service.COMPARISON: [Watch(AgentTask, comparison), Watch(AgentRequest, chosen)],
}
