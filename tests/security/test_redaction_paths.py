"""Secrets typed into Slack never reach the database or go back out: ingestion and egress."""

from __future__ import annotations

import random
import string
from collections.abc import AsyncIterator
from typing import Any

import pytest
from sqlalchemy import select

from bot.core.tasks import Task
from bot.models import metadata
from bot.sandbox.harness import BotUnderTest, running_bot
from bot.sandbox.seed import ALICE, GENERAL
from tests.ci.conftest import ci_bot


def _token(prefix: str, length: int, seed: int) -> str:
    rng = random.Random(seed)
    return prefix + "".join(rng.choice(string.ascii_letters + string.digits) for _ in range(length))


GITHUB = _token("ghp_", 36, 1)
STRIPE = _token("sk_live_", 24, 2)


@pytest.fixture
async def bot(db_url: str) -> AsyncIterator[BotUnderTest]:
    async with running_bot(db_url, start_workers=False, admins=[ALICE]) as running:
        yield running


async def _everything_stored(bot: BotUnderTest) -> str:
    dump: list[Any] = []
    async with bot.rt.sessions() as session:
        for table in metadata.sorted_tables:
            dump += [tuple(row) for row in await session.execute(select(table))]
    return repr(dump)


async def test_a_message_event_is_stored_redacted(bot: BotUnderTest) -> None:
    await bot.slack.user_message(GENERAL, ALICE, f"try this token {GITHUB} for the deploy")
    async with bot.rt.sessions() as session:
        [task] = (await session.scalars(select(Task))).all()
    assert "[REDACTED:" in repr(task.payload)
    assert GITHUB not in await _everything_stored(bot)


async def test_command_text_is_redacted_before_any_row_is_written(bot: BotUnderTest) -> None:
    bot.rt.projector.start()
    bot.rt.tasks.start()
    bot.rt.started = True
    await bot.slack.command("/incident", "declare Checkout down sev2", user=ALICE)
    await bot.settle()
    await bot.slack.command("/incident", f"update #1 rolled back; the key was {STRIPE}", user=ALICE)
    await bot.slack.command("/incident", f"note #1 used {GITHUB} to test", user=ALICE)
    await bot.settle()
    stored = await _everything_stored(bot)
    assert STRIPE not in stored and GITHUB not in stored
    assert "[REDACTED:" in stored
    everything = [m for c in bot.state.channels for m in bot.state.all_messages(c)]
    posted = repr([(m.text, m.blocks) for m in everything])
    assert STRIPE not in posted and GITHUB not in posted


async def test_a_ci_webhook_is_stored_and_posted_redacted(db_url: str) -> None:
    from tests.ci.test_github_e2e import run, send

    async with ci_bot(db_url) as bot:
        payload = run("failure", "b1" * 20, 301, 10)
        payload["workflow_run"]["head_commit"]["message"] = f"hotfix: use {STRIPE} for now"
        assert (await send(bot, payload)).status_code == 202
        await bot.settle()
        stored = await _everything_stored(bot)
        assert STRIPE not in stored
        posted = repr([(m.text, m.blocks) for m in bot.state.all_messages("C0CI")])
        assert STRIPE not in posted


async def test_whatever_a_feature_posts_leaves_redacted(bot: BotUnderTest) -> None:
    """The last line: a view or job that forgot to redact still cannot post a secret."""
    client = bot.rt.client
    await client.chat_postMessage(channel=GENERAL, text=f"leaked {GITHUB}")
    await client.chat_postMessage(
        channel=GENERAL,
        text="blocks",
        blocks=[{"type": "section", "text": {"type": "mrkdwn", "text": f"key {STRIPE}"}}],
    )
    await client.files_upload_v2(channel=GENERAL, content=f"notes: {GITHUB}", filename="x.md")
    sent = repr([call.args for call in bot.state.calls])
    assert GITHUB not in sent and STRIPE not in sent
    assert "[REDACTED:" in sent
