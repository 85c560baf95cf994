"""Database engine, sessions and the declarative base shared by every feature."""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any, cast

from sqlalchemy import ColumnElement, DateTime, MetaData, Table, delete, event, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.engine import Connection, CursorResult, Result
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)
from sqlalchemy.orm import DeclarativeBase, Session
from sqlalchemy.types import TypeDecorator

# Stable constraint names so Alembic autogenerate produces the same names on SQLite and PostgreSQL.
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}
# Rows deleted per transaction by retention sweeps: small enough that no lock is held for
# long on a big table, large enough that a day's rows go in a few round trips.
PRUNE_BATCH = 1000


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


class UTCDateTime(TypeDecorator[dt.datetime]):
    """Timezone-aware UTC datetimes on every backend (SQLite drops the offset on its own)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: dt.datetime | None, dialect: Any) -> dt.datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        return value.astimezone(dt.UTC)

    def process_result_value(self, value: dt.datetime | None, dialect: Any) -> dt.datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=dt.UTC) if value.tzinfo is None else value.astimezone(dt.UTC)


def normalize_url(url: str) -> str:
    """Accept the URLs operators write and pick the async driver for them."""
    for plain, driver in (
        ("postgres://", "postgresql+asyncpg://"),
        ("postgresql://", "postgresql+asyncpg://"),
        ("sqlite:///", "sqlite+aiosqlite:///"),
    ):
        if url.startswith(plain):
            return driver + url[len(plain) :]
    return url


def is_sqlite(url: str) -> bool:
    return normalize_url(url).startswith("sqlite")


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=10000")
    cursor.close()


def make_engine(url: str, **kwargs: Any) -> AsyncEngine:
    url = normalize_url(url)
    if url.startswith("sqlite"):
        engine = create_async_engine(url, **kwargs)
        event.listen(engine.sync_engine, "connect", _sqlite_pragmas)
        return engine
    kwargs.setdefault("pool_pre_ping", True)
    if "poolclass" not in kwargs:
        kwargs.setdefault("pool_size", 10)
        kwargs.setdefault("max_overflow", 10)
    return create_async_engine(url, **kwargs)


def make_sessionmaker(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return async_sessionmaker(engine, expire_on_commit=False)


CommitHook = Callable[[Session], None]
_commit_hooks: list[CommitHook] = []


def on_commit(hook: CommitHook) -> Callable[[], None]:
    """Run `hook(session)` after every successful commit (used to wake workers at once).

    Returns the function that removes the hook again.
    """
    _commit_hooks.append(hook)
    return lambda: _commit_hooks.remove(hook) if hook in _commit_hooks else None


@event.listens_for(Session, "after_commit")
def _run_commit_hooks(session: Session) -> None:
    for hook in list(_commit_hooks):
        hook(session)


@asynccontextmanager
async def transaction(sessions: async_sessionmaker[AsyncSession]) -> AsyncIterator[AsyncSession]:
    """A session whose work commits as one unit, or not at all."""
    async with sessions() as session, session.begin():
        yield session


def insert_ignore(session: AsyncSession, table: Any) -> Any:
    """INSERT ... ON CONFLICT DO NOTHING for the session's dialect."""
    dialect = session.bind.dialect.name if session.bind else "sqlite"
    return (pg_insert if dialect == "postgresql" else sqlite_insert)(table)


def table_of(model: Any) -> Table:
    """The Core table of a mapped class. Rows written through it in one executemany skip the
    ORM's bulk-insert machinery, which costs more than the statement on hot paths."""
    return cast(Table, model.__table__)


def dialect_of(connection: Connection | AsyncSession) -> str:
    bind = connection.bind if isinstance(connection, AsyncSession) else connection
    return bind.dialect.name if bind is not None else "sqlite"


def affected(result: Result[Any]) -> int:
    """How many rows an INSERT, UPDATE or DELETE touched (`execute` is typed as a plain Result)."""
    return int(cast("CursorResult[Any]", result).rowcount or 0)


async def prune_in_batches(
    sessions: async_sessionmaker[AsyncSession],
    model: Any,
    condition: ColumnElement[bool],
    batch: int = PRUNE_BATCH,
) -> int:
    """Delete the rows of ``model`` matching ``condition``, ``batch`` rows per transaction.

    Shared by every retention sweep. Selecting ids first keeps each DELETE small on both
    SQLite and PostgreSQL (neither has a portable DELETE ... LIMIT).
    """
    total = 0
    while True:
        async with transaction(sessions) as session:
            ids = (
                await session.scalars(
                    select(model.id).where(condition).order_by(model.id).limit(batch)
                )
            ).all()
            if ids:
                await session.execute(delete(model).where(model.id.in_(ids)))
        total += len(ids)
        if len(ids) < batch:
            return total
