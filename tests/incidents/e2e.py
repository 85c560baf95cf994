"""Helpers for the end-to-end incident tests: the bot over signed requests, Slack as a sandbox."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from sqlalchemy import func, select

from bot.core.projector import METADATA_EVENT, Projection
from bot.incidents.models import Incident
from bot.sandbox.harness import BotUnderTest, running_bot
from bot.sandbox.seed import ALICE, BOB, CAROL, DAVE, ERIN, GENERAL, INCIDENTS

__all__ = ["ALICE", "BOB", "CAROL", "DAVE", "ERIN", "GENERAL", "INCIDENTS"]
ADMIN = ERIN
CONFIG: dict[str, Any] = {"incidents": {"announce_channel": INCIDENTS}, "admins": [ADMIN]}


@asynccontextmanager
async def incident_bot(db_url: str, **overrides: Any) -> AsyncIterator[BotUnderTest]:
    async with running_bot(db_url, **{**CONFIG, **overrides}) as bot:
        yield bot


async def say(bot: BotUnderTest, text: str, user: str = ALICE, channel: str = GENERAL) -> str:
    """Run `/incident <text>` and return the ephemeral answer the user saw."""
    before = len(bot.state.ephemerals)
    response = await bot.slack.command("/incident", text, user=user, channel=channel)
    assert response.status_code == 200, response.text
    shown = bot.state.ephemerals[before:]
    return "\n".join(e.text for e in shown)


async def count(bot: BotUnderTest, model: type, *where: Any) -> int:
    async with bot.rt.sessions() as session:
        return int(await session.scalar(select(func.count()).select_from(model).where(*where)))


async def incident_row(bot: BotUnderTest, number: int) -> Incident:
    async with bot.rt.sessions() as session:
        found = await session.get(Incident, number)
    assert found is not None
    return found


async def view_ts(bot: BotUnderTest, kind: str, record: int | str) -> tuple[str, str]:
    async with bot.rt.sessions() as session:
        row = await session.scalar(
            select(Projection).where(Projection.kind == kind, Projection.record_id == str(record))
        )
    assert row is not None and row.channel and row.ts, f"{kind}:{record} not posted"
    return row.channel, row.ts


def posts_of(bot: BotUnderTest, kind: str) -> list[Any]:
    """Successful chat.postMessage calls that carried one of our views of `kind`."""
    found = []
    for call in bot.state.calls_to("chat.postMessage"):
        metadata = call.args.get("metadata") or {}
        payload = metadata.get("event_payload") or {} if isinstance(metadata, dict) else {}
        if metadata.get("event_type") == METADATA_EVENT and payload.get("kind") == kind and call.ok:
            found.append(call)
    return found


def message_text(bot: BotUnderTest, channel: str, ts: str) -> str:
    """Everything a reader sees in a message: its fallback text and its blocks."""
    import json

    message = bot.state.message(channel, ts)
    assert message is not None
    return message.text + json.dumps(message.blocks or [])
