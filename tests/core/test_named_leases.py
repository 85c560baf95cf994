"""Named leases: one holder at a time across engines (replicas), and a lapsed lease is taken
over (SQLite and PostgreSQL)."""

from __future__ import annotations

import asyncio
import datetime as dt

from sqlalchemy import insert, select
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.core.db import make_engine, utcnow
from bot.core.leases import NamedLease, named_lease
from bot.sandbox.harness import create_tables


async def test_one_holder_at_a_time_and_a_lapsed_lease_is_taken_over(db_url: str) -> None:
    await create_tables(db_url)
    one, two = make_engine(db_url), make_engine(db_url)
    try:
        held: list[str] = []

        async def hold(engine: AsyncEngine, owner: str) -> None:
            async with named_lease(engine, "refresh:T1", owner):
                held.append(f"+{owner}")
                await asyncio.sleep(0.1)
                held.append(f"-{owner}")

        await asyncio.gather(hold(one, "a"), hold(two, "b"))
        assert held in (["+a", "-a", "+b", "-b"], ["+b", "-b", "+a", "-a"])

        # A replica died holding it: the next one waits no longer than the lease lasted.
        async with one.begin() as connection:
            lapsed = utcnow() - dt.timedelta(seconds=1)
            await connection.execute(
                insert(NamedLease).values(
                    name="refresh:T2", lease_owner="dead", lease_expires=lapsed
                )
            )
        async with asyncio.timeout(2):
            async with named_lease(two, "refresh:T2", "b"):
                async with two.connect() as connection:
                    owner = await connection.scalar(
                        select(NamedLease.lease_owner).where(NamedLease.name == "refresh:T2")
                    )
                assert owner == "b"
        async with two.connect() as connection:
            left = (await connection.execute(select(NamedLease.name))).scalars().all()
        assert left == []
    finally:
        await one.dispose()
        await two.dispose()
