"""Alembic environment: async engines for SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
from typing import Any

from alembic import context
from sqlalchemy import pool, text
from sqlalchemy.engine import Connection

from bot.core.db import make_engine
from bot.models import metadata

config = context.config
# Any fixed number will do, as long as nothing else in the database uses it.
MIGRATION_LOCK = 0x6F7073626F74  # "opsbot"
# `alembic -x tables=ci_,incident` limits autogenerate to tables with those prefixes, so a
# feature's revision holds only its own tables while other features are still in progress.
_prefixes = tuple(
    p for p in context.get_x_argument(as_dictionary=True).get("tables", "").split(",") if p
)


def include_object(
    obj: Any, name: str | None, type_: str, reflected: bool, compare_to: Any
) -> bool:
    if not _prefixes:
        return True
    table = obj if type_ == "table" else getattr(obj, "table", None)
    table_name = name if type_ == "table" else getattr(table, "name", "")
    return bool(table_name and table_name.startswith(_prefixes))


def run_offline() -> None:
    context.configure(
        url=database_url(),
        target_metadata=metadata,
        literal_binds=True,
        render_as_batch=True,
    )
    with context.begin_transaction():
        context.run_migrations()


def run_with(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
        include_object=include_object,
    )
    with context.begin_transaction():
        # Replicas starting together migrate one at a time: the others wait here, then find
        # the schema current. The lock ends with the transaction. SQLite has one writer anyway.
        if connection.dialect.name == "postgresql":
            connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": MIGRATION_LOCK})
        context.run_migrations()


def database_url() -> str:
    """The bot's own URL when it runs the migrations; DATABASE_URL (or the settings' default)
    when the alembic command line does."""
    url = config.get_main_option("sqlalchemy.url")
    if url:
        return url
    from bot.config import Settings
    from bot.core.db import normalize_url

    return normalize_url(Settings().database_url)


async def run_online() -> None:
    engine = make_engine(database_url(), poolclass=pool.NullPool)
    async with engine.connect() as connection:
        await connection.run_sync(run_with)
    await engine.dispose()


if context.is_offline_mode():
    run_offline()
else:
    asyncio.run(run_online())
