"""A channel in several workspaces: the records that live in it are visible in each workspace
it has been seen in, and only those (bot.core.workspaces.VisibleWhereItsChannelIs).

The model checks run over every mapped model, so a model added later is covered."""

from __future__ import annotations

import json

from sqlalchemy import func, insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

import bot.models  # noqa: F401  (every feature's tables)
from bot.core.db import transaction
from bot.core.workspaces import (
    VisibleWhereItsChannelIs,
    Workspace,
    WorkspaceChannel,
    channel_of,
    noting_workspaces,
    of_view,
    other_workspace,
    scoped_models,
    stamped,
    within,
)
from bot.digests.models import ActivityOptOut, DigestSchedule

A = Workspace("T0AAAAAAA")
B = Workspace("T0BBBBBBB")
SHARED, A_ONLY, B_ONLY = "C0SHARED", "C0AONLY", "C0BONLY"


def test_every_model_visible_by_channel_names_its_channel_column() -> None:
    by_channel = [m for m in scoped_models() if issubclass(m, VisibleWhereItsChannelIs)]
    assert by_channel, "no model is visible where its channel is"
    for model in by_channel:
        column = model.record_channel.property.columns[0]  # a synonym of a mapped column
        assert column.name in ("channel", "channel_id"), model.__tablename__


async def _schedules(sessions: async_sessionmaker[AsyncSession]) -> None:
    async with transaction(sessions) as session:
        with within(A):
            session.add_all(
                [
                    DigestSchedule(channel=SHARED, set_by="U1"),
                    DigestSchedule(channel=A_ONLY, set_by="U1"),
                ]
            )
            session.add(ActivityOptOut(channel=A_ONLY, by_user="U1"))
            await session.flush()  # rows take the workspace they are written in
        with within(B):
            session.add(DigestSchedule(channel=B_ONLY, set_by="U2"))
            await session.flush()


async def _channels(session: AsyncSession) -> list[str]:
    return list(
        await session.scalars(select(DigestSchedule.channel).order_by(DigestSchedule.channel))
    )


async def test_a_record_is_visible_where_its_channel_has_been_seen(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    await _schedules(sessions)
    async with sessions() as session:
        with within(B):
            assert await _channels(session) == [B_ONLY]  # not seen in B yet
    async with transaction(sessions) as session:
        await session.execute(insert(WorkspaceChannel).values(team_id=B.team_id, channel_id=SHARED))
    async with sessions() as session:
        with within(B):
            assert await _channels(session) == [B_ONLY, SHARED]
            assert await session.scalar(select(func.count()).select_from(ActivityOptOut)) == 0
            shared = await session.get(DigestSchedule, SHARED)
            assert shared is not None and shared.team_id == A.team_id
            assert await session.get(DigestSchedule, A_ONLY) is None
        with within(A):
            assert await _channels(session) == [A_ONLY, SHARED]  # B's channel is B's alone


async def test_changes_reach_the_shared_record_and_no_other(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    await _schedules(sessions)
    async with transaction(sessions) as session:
        await session.execute(insert(WorkspaceChannel).values(team_id=B.team_id, channel_id=SHARED))
    async with transaction(sessions) as session:
        with within(B):
            await session.execute(update(DigestSchedule).values(cadence="weekly"))
    async with sessions() as session:
        rows = dict(
            (await session.execute(select(DigestSchedule.channel, DigestSchedule.cadence))).all()
        )
    assert rows == {SHARED: "weekly", A_ONLY: "daily", B_ONLY: "weekly"}


async def test_the_gate_learns_the_one_other_workspace_a_request_read(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    await _schedules(sessions)
    async with transaction(sessions) as session:
        await session.execute(insert(WorkspaceChannel).values(team_id=B.team_id, channel_id=SHARED))
    async with sessions() as session:
        with within(B):
            with noting_workspaces(session) as seen:
                await session.get(DigestSchedule, SHARED)
            assert other_workspace(seen) == A
            session.expunge_all()
            with noting_workspaces(session) as seen:
                await session.get(DigestSchedule, SHARED)
                await session.get(DigestSchedule, B_ONLY)
            assert other_workspace(seen) is None  # its own records too: it stays where it is
        with within(A), noting_workspaces(session) as seen:
            session.expunge_all()
            await session.get(DigestSchedule, SHARED)
        assert other_workspace(seen) is None


def test_the_channel_of_each_kind_of_delivery() -> None:
    assert channel_of({"event": {"type": "message", "channel": "C1"}}) == "C1"
    assert channel_of({"event": {"type": "reaction_added", "item": {"channel": "C2"}}}) == "C2"
    assert channel_of({"command": "/incident", "channel_id": "C3"}) == "C3"
    assert channel_of({"type": "block_actions", "channel": {"id": "C4"}}) == "C4"
    assert channel_of({"type": "block_actions", "container": {"channel_id": "C5"}}) == "C5"
    assert channel_of({"type": "view_submission", "view": {}}) is None


def test_a_modal_carries_the_workspace_it_was_opened_in() -> None:
    modal = {"type": "modal", "callback_id": "x", "private_metadata": '{"incident": 4}'}
    with within(A):
        sent = stamped(modal)
    assert of_view(sent) == A and json.loads(sent["private_metadata"])["incident"] == 4
    with within(Workspace("T0CCCCCCC", "E0ORG")):
        assert of_view(stamped({"type": "modal"})) == Workspace("T0CCCCCCC", "E0ORG")
    assert stamped(modal) is modal  # outside any workspace: nothing to say
    with within(A):
        plain = {"type": "modal", "private_metadata": "not json"}
        assert stamped(plain) is plain and of_view(plain) is None
        home = {"type": "home", "blocks": []}
        assert stamped(home) is home
