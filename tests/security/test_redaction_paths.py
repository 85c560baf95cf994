"""Secrets typed into Slack never reach the database or go back out: ingestion and egress."""

from __future__ import annotations

import random
import string
from collections.abc import AsyncIterator
from pathlib import Path
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
# What each secret becomes: the marker stands where the secret stood, the words around it stay.
GITHUB_MARK = "[REDACTED:github_token]"
STRIPE_MARK = "[REDACTED:stripe_access_token]"


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
    assert f"try this token {GITHUB_MARK} for the deploy" in repr(task.payload)
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
    assert f"rolled back; the key was {STRIPE_MARK}" in stored
    assert f"used {GITHUB_MARK} to test" in stored
    everything = [m for c in bot.state.channels for m in bot.state.all_messages(c)]
    posted = repr([(m.text, m.blocks) for m in everything])
    assert STRIPE not in posted and GITHUB not in posted
    assert f"rolled back; the key was {STRIPE_MARK}" in posted


async def test_a_ci_webhook_is_stored_and_posted_redacted(db_url: str) -> None:
    from tests.ci.test_github_e2e import run, send

    async with ci_bot(db_url) as bot:
        payload = run("failure", "b1" * 20, 301, 10)
        payload["workflow_run"]["head_commit"]["message"] = f"hotfix: use {STRIPE} for now"
        assert (await send(bot, payload)).status_code == 202
        await bot.settle()
        stored = await _everything_stored(bot)
        assert STRIPE not in stored
        assert f"hotfix: use {STRIPE_MARK} for now" in stored
        posted = repr([(m.text, m.blocks) for m in bot.state.all_messages("C0CI")])
        assert STRIPE not in posted


def _calls(bot: BotUnderTest, method: str) -> str:
    return repr([call.args for call in bot.state.calls if call.method == method])


async def test_whatever_a_feature_posts_leaves_redacted(bot: BotUnderTest) -> None:
    """The last line: a view or job that forgot to redact still cannot post a secret."""
    client = bot.rt.client
    await client.chat_postMessage(channel=GENERAL, text=f"leaked {GITHUB} here")
    await client.chat_postMessage(
        channel=GENERAL,
        text="blocks",
        blocks=[{"type": "section", "text": {"type": "mrkdwn", "text": f"key {STRIPE} here"}}],
    )
    posted = _calls(bot, "chat.postMessage")
    assert GITHUB not in posted and STRIPE not in posted
    assert f"leaked {GITHUB_MARK} here" in posted
    assert f"key {STRIPE_MARK} here" in posted


def _uploaded(bot: BotUnderTest, name: str) -> bytes:
    """The bytes the sandbox received at the upload URL of the file called `name`."""
    [file] = [f for f in bot.state.files.values() if f.name == name]
    assert file.completed and file.content is not None, name
    return file.content


async def test_the_content_of_an_uploaded_file_leaves_redacted(bot: BotUnderTest) -> None:
    """File bytes go to an upload URL, outside the Web API call: they are redacted too."""
    client = bot.rt.client
    text = f"notes: {GITHUB} and {STRIPE} end"
    expected = f"notes: {GITHUB_MARK} and {STRIPE_MARK} end".encode()
    await client.files_upload_v2(
        channel=GENERAL,
        content=text,
        filename="content.md",
        title=f"title {GITHUB} here",
        initial_comment=f"comment {STRIPE} here",
    )
    await client.files_upload_v2(channel=GENERAL, content=text.encode(), filename="bytes.md")
    await client.files_upload_v2(channel=GENERAL, file=text.encode(), filename="file.md")
    await client.files_upload_v2(
        channel=GENERAL,
        file_uploads=[
            {"content": text, "filename": "many-1.md"},
            {"file": text.encode(), "filename": "many-2.md"},
        ],
    )
    for name in ("content.md", "bytes.md", "file.md", "many-1.md", "many-2.md"):
        assert _uploaded(bot, name) == expected, name
    # What went with the file through the Web API: its title and the comment it was shared with.
    completed = _calls(bot, "files.completeUploadExternal")
    assert GITHUB not in completed and STRIPE not in completed
    assert f"title {GITHUB_MARK} here" in completed
    assert f"comment {STRIPE_MARK} here" in completed
    # A binary file (a chart) is passed through byte for byte.
    png = b"\x89PNG\r\n\x1a\n" + bytes(range(256))
    await client.files_upload_v2(channel=GENERAL, file=png, filename="chart.png")
    assert _uploaded(bot, "chart.png") == png


async def test_an_agent_push_is_redacted_only_once_it_is_verified(
    db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from bot.agents import models as m
    from bot.agents import service
    from bot.agents.handlers import push
    from bot.sandbox.agent_git import make_repo
    from bot.sandbox.agent_server import AgentServer
    from tests.agents.e2e import (
        BOB,
        agent_bot,
        all_in,
        mention,
        shown,
        start_thread,
        tasks,
        until,
        view_ts,
    )
    from tests.agents.e2e import GENERAL as THREADS

    redacted: list[Any] = []
    redact = push.redact_payload

    def spy(data: Any) -> Any:
        redacted.append(data)
        return redact(data)

    monkeypatch.setattr(push, "redact_payload", spy)
    async with AgentServer(make_repo(tmp_path / "octo-repo")) as agent:
        agent.executor.gate.clear()  # the agent stays at work until the test is done
        async with agent_bot(db_url, agent) as bot:
            root = await start_thread(bot)
            await bot.slack.user_message(THREADS, BOB, mention(bot, "fix the login test"), root)
            await until(bot, lambda: all_in(bot, m.WORKING))
            [task] = await tasks(bot)
            message = {
                "messageId": "m1",
                "role": "ROLE_AGENT",
                "parts": [{"text": f"via {GITHUB}"}],
            }
            status = {"state": "TASK_STATE_WORKING", "message": message}
            event = {"statusUpdate": {"taskId": task.backend_task_id, "status": status}}
            for token in ("wrong", None):
                headers = {push.TOKEN_HEADER: token} if token else {}
                refused = await bot.http.post("/agents/push", json=event, headers=headers)
                assert refused.status_code == 401
            assert redacted == [], "an unverified push went through the redactor"
            headers = {push.TOKEN_HEADER: task.push_token or ""}
            accepted = await bot.http.post("/agents/push", json=event, headers=headers)
            assert accepted.status_code == 202 and len(redacted) == 1
            await bot.settle()
            stored = await _everything_stored(bot)
            assert GITHUB not in stored and "via [REDACTED:github_token]" in stored
            channel, ts = await view_ts(bot, service.CARD, task.id)
            card = shown(bot, channel, ts)
            assert GITHUB not in card and "[REDACTED:github_token]" in card
            agent.executor.gate.set()
