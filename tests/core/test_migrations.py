"""The models and the Alembic migrations describe the same schema."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect

from bot.core.db import make_engine
from bot.migrate import upgrade
from bot.models import metadata


async def test_upgrade_then_autogenerate_diff_is_empty(empty_db_url: str) -> None:
    upgrade(empty_db_url)
    engine = make_engine(empty_db_url)
    async with engine.connect() as connection:

        def diff(sync_connection):  # type: ignore[no-untyped-def]
            context = MigrationContext.configure(sync_connection, opts={"compare_type": True})
            return compare_metadata(context, metadata)

        changes = await connection.run_sync(diff)
        tables = await connection.run_sync(lambda c: set(inspect(c).get_table_names()))
    await engine.dispose()
    assert changes == []
    assert set(metadata.tables) <= tables


async def test_upgrade_is_repeatable(empty_db_url: str) -> None:
    upgrade(empty_db_url)
    upgrade(empty_db_url)  # serve and socket migrate at every start
