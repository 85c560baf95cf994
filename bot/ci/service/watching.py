"""The rows each CI view is drawn from (`Watch`): changing them marks the view dirty.

The card of a breakage follows the breakage, the later red runs attached to it and its suspects
(the run that opened it is written with it, in the transaction that inserts the breakage); runs
of a green branch belong to no breakage and redraw nothing. The lines posted in the card's
thread follow the change that calls for each: a later red run attached, the breakage ending, its
suspects found, its owners called. Agents asked to fix a breakage redraw its card as they go,
and the recovery line waits for the attempt that fixed it to be named.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sqlalchemy import String, case, cast, select

from bot.agents import service as agents
from bot.ci.models import CiBreakage, CiBreakagePost, CiFixRequest, CiRun, CiSuspect
from bot.ci.service.kinds import (
    CARD,
    OWNERS_LINE,
    RECOVERY_LINE,
    RUN_LINE,
    SUSPECTS_LINE,
    post_key,
)
from bot.core.watches import Named, Rows, Watch, wrote
from bot.core.workspaces import Workspace

Keys = Iterable[Named] | Rows


def _in_each_post(record_id: Any) -> tuple[Any, Any]:
    """(`post_key`, team) of a view of `record_id` for each workspace the breakage is posted in:
    every view of a breakage is shown in each (`bot.core.watches` reads the pair)."""
    text = cast(record_id, String)
    team = CiBreakagePost.team_id
    return case((team == "", text), else_=text + "@" + team), team


def posts_of(breakage_id: int) -> Rows:
    return select(*_in_each_post(CiBreakagePost.breakage_id)).where(
        CiBreakagePost.breakage_id == breakage_id
    )


def _later_run(row: CiRun, column: Any) -> Keys:
    """`column` of a run attached to a breakage after the run that opened it, in each post."""
    if row.breakage_id is None:
        return []
    return (
        select(*_in_each_post(column))
        .join(CiBreakage, CiBreakage.id == CiRun.breakage_id)
        .join(CiBreakagePost, CiBreakagePost.breakage_id == CiBreakage.id)
        .where(CiRun.id == row.id, CiBreakage.first_red_run_id != CiRun.id)
    )


def card_run(row: CiRun) -> Keys:
    return _later_run(row, CiRun.breakage_id)


def run_line(row: CiRun) -> Keys:
    """One line per later red run, posted when it is attached (unless it came in muted)."""
    if row.quiet or not wrote(row, "breakage_id"):
        return []
    return _later_run(row, CiRun.id)


def recovery_line(row: CiBreakage) -> Keys:
    return posts_of(row.id) if row.status != "open" and wrote(row, "status") else []


def suspects_line(row: CiBreakage) -> Keys:
    return posts_of(row.id) if row.suspects_ready and wrote(row, "suspects_ready") else []


def owners_line(row: CiBreakage) -> Keys:
    return posts_of(row.id) if row.owners and wrote(row, "owners_notified_at") else []


def new_post(row: CiBreakagePost) -> Keys:
    """A breakage's card in a workspace is first drawn when its post is added."""
    workspace = Workspace(row.team_id) if row.team_id else None
    return [(post_key(row.breakage_id, row.team_id), workspace)]


def fix_attempt(row: agents.AgentTask) -> Keys:
    """An attempt of agents asked to fix a breakage started, ended or was run by CI: its card
    says how far they are (and offers the button again once all are over)."""
    if not wrote(row, "state", "ci_state"):
        return []
    return (
        select(*_in_each_post(CiFixRequest.breakage_id))
        .select_from(CiFixRequest)
        .join(CiBreakagePost, CiBreakagePost.breakage_id == CiFixRequest.breakage_id)
        .where(CiFixRequest.agent_request_id == row.request_id)
    )


def credited(row: CiFixRequest) -> Keys:
    """The recovery line names the attempt that fixed it, once that is decided."""
    return posts_of(row.breakage_id) if row.credited_at and wrote(row, "credited_at") else []


VIEWS: dict[str, list[Watch]] = {
    CARD: [
        Watch(CiBreakage, lambda row: posts_of(row.id)),
        Watch(CiBreakagePost, new_post),
        Watch(CiRun, card_run),
        Watch(CiSuspect, lambda row: posts_of(row.breakage_id)),
        Watch(CiFixRequest, lambda row: posts_of(row.breakage_id)),
        Watch(agents.AgentTask, fix_attempt),
    ],
    RUN_LINE: [Watch(CiRun, run_line)],
    RECOVERY_LINE: [Watch(CiBreakage, recovery_line), Watch(CiFixRequest, credited)],
    SUSPECTS_LINE: [Watch(CiBreakage, suspects_line)],
    OWNERS_LINE: [Watch(CiBreakage, owners_line)],
}
