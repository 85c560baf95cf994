"""The rows each agents view is drawn from (`Watch`): changing them marks the view dirty.

A task's card follows every change of its task but the runner's bookkeeping (the lease, the
drive count). The messages posted once in the thread follow the change that calls for them: a
new question, the task finishing (its result, or the comparison once every attempt is over), a
request made with `/agent run` (the parent message its thread hangs off).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sqlalchemy import Select, inspect, select

from bot.agents import models as m
from bot.agents import service
from bot.agents.models import AgentRequest, AgentTask
from bot.core.watches import Watch

# Columns of a task the card does not show: the runner writes them while driving.
BOOKKEEPING = frozenset({"drives", "lease_owner", "lease_expires"})
# The parent message shows the request as it was made; these never change afterwards.
PARENT_SHOWS = ("requester", "instruction", "repo", "backend", "attempts", "channel")

Keys = Iterable[str | int | None] | Select[Any]


def changes(row: Any, *columns: str) -> bool:
    """Whether this flush writes one of `columns` of `row` (new rows write what they set)."""
    state = inspect(row, raiseerr=False)
    if state is None:  # a Core write described by `changed`: it names the columns it wrote
        return any(hasattr(row, column) for column in columns)
    return any(state.attrs[column].history.has_changes() for column in columns)


def _changed_columns(row: Any) -> set[str]:
    state = inspect(row, raiseerr=False)
    if state is None:
        return set(vars(row))
    return {attr.key for attr in state.attrs if attr.history.has_changes()}


def card(row: AgentTask) -> Keys:
    return [row.id] if _changed_columns(row) - BOOKKEEPING else []


def parent(row: AgentRequest) -> Keys:
    """Only `/agent run` requests have a parent message: their thread_ts is not known yet."""
    return [row.id] if row.thread_ts is None and changes(row, *PARENT_SHOWS) else []


def question(row: AgentTask) -> Keys:
    """One message per question the agent asks (record `<task>.<number>`)."""
    if row.state != m.INPUT_REQUIRED or not row.asked or not changes(row, "asked"):
        return []
    return [f"{row.id}.{len(row.asked)}"]


def _finishes(row: AgentTask) -> bool:
    return row.state in m.TERMINAL and changes(row, "state")


def result(row: AgentTask) -> Keys:
    """The result line of a single-attempt request, once its task is over."""
    if not _finishes(row):
        return []
    return (
        select(AgentTask.id)
        .join(AgentRequest, AgentRequest.id == AgentTask.request_id)
        .where(AgentTask.id == row.id, AgentRequest.attempts == 1)
    )


def comparison(row: AgentTask) -> Keys:
    """The comparison of a request's attempts, when the last of them finishes.

    The query runs on the flush of the finishing task, which `service` makes after locking the
    request: of attempts finishing together, the last to commit sees all the others over.
    """
    if not _finishes(row):
        return []
    still_open = select(AgentTask.id).where(
        AgentTask.request_id == row.request_id, AgentTask.state.not_in(list(m.TERMINAL))
    )
    return select(AgentRequest.id).where(
        AgentRequest.id == row.request_id, AgentRequest.attempts > 1, ~still_open.exists()
    )


VIEWS: dict[str, list[Watch]] = {
    service.CARD: [Watch(AgentTask, card)],
    service.PARENT: [Watch(AgentRequest, parent)],
    service.QUESTION: [Watch(AgentTask, question)],
    service.RESULT: [Watch(AgentTask, result)],
    service.COMPARISON: [Watch(AgentTask, comparison)],
}
