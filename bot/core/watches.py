"""Watches: a view names the rows it is drawn from, and a change to them marks it dirty.

A feature registers each projected view with the sources it renders (`Watch(model, keys)`):
`keys(row)` names the records whose view shows that row, as ids or as a SELECT of ids. A view is
in the workspace of the rows it shows; a view of rows outside any workspace that is shown in
several names each with where it is shown: `(id, Workspace)`, or a SELECT of (id, team). Any
transaction that adds, changes or deletes such a row through the ORM marks those views dirty
in the same transaction, so services change records and never name views: each flush
(`after_flush`) collects the views its rows show, and the marks are written just before the
outermost commit (`before_commit`), in one sorted statement. Projection rows are so locked last
and in one order by every transaction, whatever order it changed its own rows in: two writers
touching the same record and its card (a webhook batch and a task) cannot deadlock on them.
A write made with a Core statement (an upsert, a bulk UPDATE) has no ORM row: its service says
which rows it wrote with `changed(session, Model, column=value, ...)`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from itertools import chain
from types import SimpleNamespace
from typing import Any

from sqlalchemy import Connection, Row, Select, event, inspect
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlalchemy.orm import Session

from bot.core import workspaces
from bot.core.workspaces import InWorkspace, Workspace

RecordKey = str | int
# A record, or a record and the workspace its view is shown in (see the module's doc).
Named = RecordKey | tuple[RecordKey, "Workspace | None"] | None
# A SELECT of records, of one column (ids) or two (ids and teams).
Rows = Select[*tuple[Any, ...]]
Keys = Callable[[Any], Iterable[Named] | Rows]
# Where a session finds its process's watches (sessions made by one sessionmaker share them).
WATCHES_INFO = "opsbot_watches"
# The views this session's transaction has changed, marked dirty at its commit.
PENDING_INFO = "opsbot_views_to_mark"
# (kind, record id, the workspace of the row that marked it)
ViewMark = tuple[str, str, Workspace | None]
MarkDirty = Callable[[Connection, set[ViewMark]], None]


@dataclass(frozen=True)
class Watch:
    """A source of a view: rows of `model`; `keys(row)` are the records whose view shows it."""

    model: type[Any]
    keys: Keys


class Watches:
    """The watches of one process, found by its sessions through `session.info`."""

    def __init__(self, mark: MarkDirty, wake_flag: str) -> None:
        self.mark = mark
        self.wake_flag = wake_flag
        self.by_model: dict[type[Any], list[tuple[str, Keys]]] = {}

    def add(self, kind: str, watches: Iterable[Watch]) -> None:
        for watch in watches:
            self.by_model.setdefault(watch.model, []).append((kind, watch.keys))

    def install(self, sessions: async_sessionmaker[AsyncSession]) -> None:
        """Make every session of `sessions` carry these watches."""
        info = dict(sessions.kw.get("info") or {})
        info[WATCHES_INFO] = self
        sessions.kw["info"] = info

    def records_showing(
        self, connection: Connection, rows: Iterable[tuple[type[Any], Any]]
    ) -> set[ViewMark]:
        """The (kind, record id, workspace) of every view that shows one of `rows` (model,
        row). A view is in the workspace of the rows it shows."""
        found: set[ViewMark] = set()
        for model, row in rows:
            workspace = workspace_of_row(model, row)
            for kind, keys in self.by_model.get(model, ()):
                named = keys(row)
                listed: Iterable[Any] = (
                    connection.execute(named).all() if isinstance(named, Select) else named
                )
                for key in listed:
                    found.update(_marks(kind, key, workspace))
        return found


def _marks(kind: str, key: Any, workspace: Workspace | None) -> list[ViewMark]:
    """A named record: a key, or (key, where it is shown) for a view of rows outside any
    workspace that is shown in several (the org's CI breakage, a card in each routed one)."""
    if isinstance(key, tuple | Row):
        key, workspace = key[0], (workspace if len(key) == 1 else _shown_in(key[1]))
    return [] if key is None else [(kind, str(key), workspace)]


def _shown_in(where: Workspace | str | None) -> Workspace | None:
    if isinstance(where, Workspace):
        return where
    return Workspace(where) if where else None


def workspace_of_row(model: type[Any], row: Any) -> Workspace | None:
    """The workspace of a changed row: its own team; a row of a model outside workspaces (the
    org's CI records) marks views outside any."""
    if not issubclass(model, InWorkspace):
        return None
    state = inspect(row, raiseerr=False)
    values = state.dict if state is not None else vars(row)  # no load for a deleted row
    team = values.get("team_id")
    if team is None:
        return workspaces.current()
    return Workspace(team, values.get("enterprise_id")) if team else None


class MissingColumn(AttributeError):
    """A watch's keys read a column the `changed(...)` call did not give."""


class _Written(SimpleNamespace):
    """The row a Core write names (`changed`); reading a column it was not given fails."""

    def __getattr__(self, name: str) -> Any:
        raise MissingColumn(name)


def written(row: Any) -> frozenset[str] | None:
    """The columns this write sets on `row`, for a watch's key function: those a new row was
    given, an existing row's modified ones, or those a Core write named (`changed`); None when
    the row is deleted."""
    state = inspect(row, raiseerr=False)
    if state is None:
        return frozenset(vars(row))
    if state.deleted or state.was_deleted:
        return None
    return frozenset(attr.key for attr in state.attrs if attr.history.has_changes())


def wrote(row: Any, *columns: str) -> bool:
    """Whether this write sets one of `columns` of `row` (deleting it sets them all)."""
    columns_written = written(row)
    return columns_written is None or not columns_written.isdisjoint(columns)


def _changed_rows(session: Session) -> Iterable[Any]:
    dirty = (row for row in session.dirty if session.is_modified(row, include_collections=False))
    return chain(session.new, dirty, session.deleted)


@event.listens_for(Session, "after_flush")
def _mark_watched_views(session: Session, _context: Any) -> None:
    watches: Watches | None = session.info.get(WATCHES_INFO)
    if watches is None:
        return
    rows = [(type(row), row) for row in _changed_rows(session) if type(row) in watches.by_model]
    if rows:
        _mark(session, watches, rows)


def _mark(session: Session, watches: Watches, rows: list[tuple[type[Any], Any]]) -> None:
    views = watches.records_showing(session.connection(), rows)
    if views:
        session.info.setdefault(PENDING_INFO, set()).update(views)
        session.info[watches.wake_flag] = True


@event.listens_for(Session, "before_commit")
def _write_marks(session: Session) -> None:
    # A savepoint's release is not the end: its marks wait for the transaction around it.
    if session.in_nested_transaction() or session.info.get(WATCHES_INFO) is None:
        return
    session.flush()  # the last changes' views, before they are written
    views: set[ViewMark] | None = session.info.pop(PENDING_INFO, None)
    if views:
        session.info[WATCHES_INFO].mark(session.connection(), views)


@event.listens_for(Session, "after_soft_rollback")
def _forget_marks(session: Session, previous_transaction: Any) -> None:
    if not previous_transaction.nested:  # a rolled-back savepoint's marks only redraw the same
        session.info.pop(PENDING_INFO, None)


async def changed(session: AsyncSession, model: type[Any], **columns: Any) -> None:
    """Say that a Core statement wrote a row of `model` with these columns: the views that
    watch it are marked dirty, as an ORM change would mark them."""
    watches: Watches | None = session.info.get(WATCHES_INFO)
    if watches is None or model not in watches.by_model:
        return
    row = _Written(**columns)
    try:
        await session.run_sync(lambda sync_session: _mark(sync_session, watches, [(model, row)]))
    except MissingColumn as missing:
        raise MissingColumn(
            f"a watch on {model.__name__} reads {missing.args[0]!r}, which this changed(...)"
            " call did not give: pass it"
        ) from None
