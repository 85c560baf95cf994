"""Helpers for the tests that call the rules directly against a database."""

from __future__ import annotations

import dataclasses

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.core.db import transaction
from bot.incidents import service
from tests.incidents.factories import OPTIONS

Sessions = async_sessionmaker[AsyncSession]
OPTS = dataclasses.replace(OPTIONS, admins=frozenset({"U0ADMIN"}))


async def declare(sessions: Sessions, **kwargs: object) -> int:
    async with transaction(sessions) as session:
        values = {"title": "DB down", "reporter": "U0ALICE", **kwargs}
        incident = await service.declare(session, OPTS, **values)  # type: ignore[arg-type]
        return incident.id


async def count(sessions: Sessions, model: type, *where: object) -> int:
    async with sessions() as session:
        return int(await session.scalar(select(func.count()).select_from(model).where(*where)))


async def with_channel(sessions: Sessions, incident_id: int) -> None:
    async with transaction(sessions) as session:
        await service.store_channel(session, incident_id, f"C0INC{incident_id}", "inc-x")
