"""Workspaces: every record belongs to the Slack workspace it came from, by construction.

A unit of work runs *within* a workspace: the front door enters the workspace of the request
(its team), the task runner that of the task, the projector that of the view. From there:

- a row of a model that mixes in `InWorkspace` is written with the current workspace's team and
  enterprise unless it names them itself (a column default, so Core inserts get it too);
- every ORM statement run within a workspace (SELECT, UPDATE, DELETE, `session.get`, lazy
  loads) sees only that workspace's rows (`with_loader_criteria` on every `InWorkspace` model,
  added in one session event), so a reader cannot forget the filter;
- the Slack client asks for the current workspace's token before each call
  (`bot.core.installations`), and the projector paces each workspace on its own budget.

Work outside any workspace (scheduled sweeps, the workers' own bookkeeping) sees every row and
enters a record's workspace (`within(of_record(row))`) before it acts for that record.

A channel can be in several workspaces (Slack Connect, or an Enterprise Grid org's channel
shared with several of its workspaces). A record that lives in a channel (a model that mixes in
`VisibleWhereItsChannelIs`) is then visible in each workspace the channel has been seen in
(`workspace_channels`, noted from the requests each workspace sends from it), besides its own;
the gate runs a request that acts on such a record within the record's workspace.

`UNKNOWN` ("") is the one workspace of single-token mode before `auth.test` has named it, and
what a single-workspace database's rows are upgraded with; those rows are given the team at
the first `auth.test` (`adopt`). Until then every workspace reads them, as there is only one.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any, ClassVar

from sqlalchemy import ColumnElement, Select, String, event, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlalchemy.orm import Mapped, ORMExecuteState, Session, mapped_column, with_loader_criteria

from bot.core.db import Base, affected, transaction

UNKNOWN = ""
# An execution option: this statement sees every workspace's rows. For a view of one
# workspace's record that the org's settings show in others (a code red's announcement),
# read within the record's workspace otherwise; tests list who may use it.
ALL_WORKSPACES = "opsbot_all_workspaces"


@dataclass(frozen=True)
class Workspace:
    team_id: str
    enterprise_id: str | None = None


_current: ContextVar[Workspace | None] = ContextVar("opsbot_workspace", default=None)


def current() -> Workspace | None:
    """The workspace the running work belongs to; None outside any (a sweep)."""
    return _current.get()


@contextmanager
def within(workspace: Workspace | None) -> Iterator[Workspace | None]:
    """Run the block within `workspace` (None: outside any workspace)."""
    token = _current.set(workspace)
    try:
        yield workspace
    finally:
        _current.reset(token)


# A modal opened within a workspace carries it in its private_metadata (set by the Slack
# client as the modal leaves, read back by the gate when it is submitted): a modal that a
# person of another workspace submits (an Enterprise Grid org's DM, a shared channel) is then
# handled where it was opened, as Slack keeps the metadata out of the person's hands.
VIEW_TEAM, VIEW_ENTERPRISE = "opsbot_team", "opsbot_enterprise"
VIEW_METHODS = frozenset({"views.open", "views.push", "views.update"})


def stamped(view: Any) -> Any:
    """A modal's payload carrying the current workspace in its private_metadata (a JSON
    object, or none); any other metadata, or no workspace, leaves it as it is."""
    workspace = _current.get()
    if workspace is None or not isinstance(view, Mapping) or view.get("type") != "modal":
        return view
    try:
        metadata = json.loads(view.get("private_metadata") or "{}")
    except ValueError:
        return view
    if not isinstance(metadata, dict):
        return view
    metadata[VIEW_TEAM] = workspace.team_id
    if workspace.enterprise_id:
        metadata[VIEW_ENTERPRISE] = workspace.enterprise_id
    return {**view, "private_metadata": json.dumps(metadata, separators=(",", ":"))}


def of_view(view: Any) -> Workspace | None:
    """The workspace a modal was opened within (`stamped`), if it says."""
    if not isinstance(view, Mapping):
        return None
    try:
        metadata = json.loads(view.get("private_metadata") or "{}")
    except ValueError:
        return None
    team = metadata.get(VIEW_TEAM) if isinstance(metadata, dict) else None
    if not isinstance(team, str) or not team:
        return None
    enterprise = metadata.get(VIEW_ENTERPRISE)
    return Workspace(team, enterprise if isinstance(enterprise, str) and enterprise else None)


def enter(workspace: Workspace | None) -> None:
    """The rest of this task runs within `workspace` (a Bolt middleware cannot wrap the
    listeners that follow it in a block, as Bolt runs them after it returns)."""
    _current.set(workspace)


# Where a session notes the workspaces of the rows it loads (`noting_workspaces`).
_NOTED_INFO = "opsbot_workspaces_loaded"


@contextmanager
def noting_workspaces(session: AsyncSession) -> Iterator[set[Workspace | None]]:
    """The workspaces of the rows `session` loads in the block: the gate finds out whether a
    request acts on a record of another workspace, visible here through a shared channel."""
    seen: set[Workspace | None] = set()
    session.info[_NOTED_INFO] = seen
    try:
        yield seen
    finally:
        session.info.pop(_NOTED_INFO, None)


@event.listens_for(Session, "loaded_as_persistent")
def _note_loaded(session: Session, instance: Any) -> None:
    seen = session.info.get(_NOTED_INFO)
    if seen is not None and isinstance(instance, InWorkspace):
        seen.add(of_record(instance))


def other_workspace(seen: set[Workspace | None]) -> Workspace | None:
    """The one other workspace whose rows were all the rows read, if that is so."""
    here = current()
    if here is None or len(seen) != 1:
        return None
    (only,) = seen
    if only is None or only.team_id == here.team_id:
        return None
    return only


def of_record(row: Any) -> Workspace | None:
    """The workspace a stored row belongs to; None for a row made outside any workspace."""
    if not row.team_id:
        return None
    return Workspace(row.team_id, getattr(row, "enterprise_id", None))


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


def of_body(body: Mapping[str, Any]) -> Workspace | None:
    """The workspace a Slack delivery comes from: an event envelope, a slash command or an
    interaction. Slack names the team in different places in each. In a shared channel it is
    the side where the app is installed: for an event, the first of `authorizations`; for a
    modal opened there by someone of the other side, `view.app_installed_team_id`."""
    installed = _installed_side(body)
    if installed is not None:
        return installed
    team = body.get("team")
    user = body.get("user")
    authorizations = body.get("authorizations")
    first = authorizations[0] if isinstance(authorizations, list) and authorizations else {}
    enterprise = body.get("enterprise")
    team_id = (
        _text(first.get("team_id") if isinstance(first, Mapping) else None)
        or _text(body.get("team_id"))
        or _text(team.get("id") if isinstance(team, Mapping) else None)
        or _text(user.get("team_id") if isinstance(user, Mapping) else None)
        or _text(body.get("context_team_id"))
    )
    enterprise_id = (
        _text(first.get("enterprise_id") if isinstance(first, Mapping) else None)
        or _text(body.get("enterprise_id"))
        or _text(enterprise.get("id") if isinstance(enterprise, Mapping) else None)
    )
    if team_id is None and enterprise_id is None:
        return None
    return Workspace(team_id or enterprise_id or UNKNOWN, enterprise_id)


def channel_of(body: Mapping[str, Any]) -> str | None:
    """The channel a Slack delivery comes from, where it names one: an event's, a slash
    command's, or a button's (a modal has none)."""
    event = body.get("event")
    if isinstance(event, Mapping):
        item = event.get("item")
        found = event.get("channel") or (item.get("channel") if isinstance(item, Mapping) else None)
        return _text(found if isinstance(found, str) else None)
    channel = body.get("channel")
    if isinstance(channel, Mapping):
        return _text(channel.get("id"))
    container = body.get("container")
    return _text(body.get("channel_id")) or _text(
        container.get("channel_id") if isinstance(container, Mapping) else None
    )


def _installed_side(body: Mapping[str, Any]) -> Workspace | None:
    """A modal's own workspace, when it was opened from the other side of a Slack Connect
    channel: `team` and `enterprise` are then the other side's, and Slack does not say the
    installed side's org (the installation store knows it)."""
    view = body.get("view")
    installed = _text(view.get("app_installed_team_id")) if isinstance(view, Mapping) else None
    if installed is None:
        return None
    team = body.get("team")
    enterprise = body.get("enterprise")
    same_side = isinstance(team, Mapping) and team.get("id") == installed
    enterprise_id = _text(enterprise.get("id")) if isinstance(enterprise, Mapping) else None
    if installed == enterprise_id:
        return None  # an org-wide install names its org: the workspace is the person's team
    return Workspace(installed, enterprise_id if same_side else None)


def current_team() -> str:
    """The team of the workspace the running work is within; `UNKNOWN` outside any (what a
    row written now is given)."""
    workspace = _current.get()
    return workspace.team_id if workspace is not None else UNKNOWN


def _enterprise_default() -> str | None:
    workspace = _current.get()
    return workspace.enterprise_id if workspace is not None else None


class WorkspaceChannel(Base):
    """A channel seen in a workspace: a request of that workspace came from it."""

    __tablename__ = "workspace_channels"

    team_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    channel_id: Mapped[str] = mapped_column(String(32), primary_key=True)


class InWorkspace:
    """Mixed into every model whose rows belong to a workspace."""

    team_id: Mapped[str] = mapped_column(
        String(32), default=current_team, server_default=UNKNOWN, index=True
    )
    enterprise_id: Mapped[str | None] = mapped_column(String(32), default=_enterprise_default)

    @classmethod
    def visible_in(cls, teams: tuple[str, ...], channels: Select[Any]) -> ColumnElement[bool]:
        """Which rows a workspace sees: `teams` are its own and `UNKNOWN`, `channels` the
        channels it has been seen in."""
        return cls.team_id.in_(teams)


class VisibleWhereItsChannelIs(InWorkspace):
    """Mixed into a model whose row lives in a channel (`record_channel`, a synonym of its
    channel column): the row is also visible in the other workspaces that channel is in."""

    record_channel: ClassVar[Any]

    @classmethod
    def visible_in(cls, teams: tuple[str, ...], channels: Select[Any]) -> ColumnElement[bool]:
        return or_(cls.team_id.in_(teams), cls.record_channel.in_(channels))


def visible_teams(workspace: Workspace) -> tuple[str, ...]:
    return (workspace.team_id, UNKNOWN)


@event.listens_for(Session, "do_orm_execute")
def _only_current_workspace(state: ORMExecuteState) -> None:
    workspace = _current.get()
    if workspace is None or not (state.is_select or state.is_update or state.is_delete):
        return
    if state.execution_options.get(ALL_WORKSPACES):
        return
    state.statement = state.statement.options(_only(workspace.team_id))


@functools.lru_cache(maxsize=4096)
def _only(team: str) -> Any:
    """The filter for one workspace, made once: building it analyses its lambda, which costs
    more than the statement it is added to. Each model says what it shows (`visible_in`)."""
    teams = visible_teams(Workspace(team))
    channels = select(WorkspaceChannel.channel_id).where(WorkspaceChannel.team_id == team)
    return with_loader_criteria(
        InWorkspace, lambda model: model.visible_in(teams, channels), include_aliases=True
    )


def scoped_models() -> list[type[Any]]:
    """Every mapped model whose rows belong to a workspace."""
    return sorted(
        (
            mapper.class_
            for mapper in Base.registry.mappers
            if issubclass(mapper.class_, InWorkspace)
        ),
        key=lambda model: model.__tablename__,
    )


async def adopt(sessions: async_sessionmaker[AsyncSession], workspace: Workspace) -> int:
    """Give the rows written before the sole workspace was known (`UNKNOWN`) to `workspace`.

    Run at every start, and almost always with nothing to do: each table is first asked
    whether it has such a row, which takes no write lock, and only those that do are updated,
    a table to a transaction, so the requests of a process starting up never wait on it."""
    total = 0
    with within(None):
        for model in scoped_models():
            table = model.__table__
            async with sessions() as session:
                unnamed = await session.scalar(
                    select(table.c.team_id).where(table.c.team_id == UNKNOWN).limit(1)
                )
            if unnamed is None:
                continue
            async with transaction(sessions) as session:
                result = await session.execute(
                    update(table)
                    .where(table.c.team_id == UNKNOWN)
                    .values(team_id=workspace.team_id, enterprise_id=workspace.enterprise_id)
                )
                total += affected(result)
    return total


async def enter_from_request(req: Any, resp: Any, next: Any) -> Any:
    """Bolt middleware, first in the chain: the listeners of a request run within the
    workspace it came from. Bolt runs its middlewares one after the other, not nested, so the
    workspace is set for the rest of the delivery's task: the web route enters it itself,
    around Bolt (this then changes nothing), and Socket Mode runs each delivery in a task of
    its own."""
    if _current.get() is None:
        _current.set(of_body(req.body))
    return await next()
