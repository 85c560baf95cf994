"""Log lines say what they are about: the task and its Slack event, the record being synced."""

from __future__ import annotations

import asyncio
import io
import json
import logging
import sys
from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import insert

from bot.core import logs, tasks
from bot.core.db import transaction
from bot.core.projector import Projection, Rendered
from bot.sandbox.harness import BotUnderTest, create_tables, running_bot


class Captured:
    def __init__(self) -> None:
        self.stream = io.StringIO()

    def lines(self) -> list[dict[str, Any]]:
        return [json.loads(line) for line in self.stream.getvalue().splitlines()]


@contextmanager
def json_lines() -> Iterator[Captured]:
    """What the root logger renders while this holds, with the JSON formatter."""
    captured = Captured()
    handler = logging.StreamHandler(captured.stream)
    handler.setFormatter(logs.formatter("json"))
    root = logging.getLogger()
    root.addHandler(handler)
    try:
        yield captured
    finally:
        root.removeHandler(handler)


@pytest.fixture
async def bot(tmp_path: Path) -> AsyncIterator[BotUnderTest]:
    url = f"sqlite+aiosqlite:///{tmp_path}/logs.db"
    await create_tables(url)
    async with running_bot(url) as running:
        yield running


async def until(condition: Any, timeout: float = 5.0) -> None:
    for _ in range(int(timeout / 0.02)):
        if condition():
            return
        await asyncio.sleep(0.02)


async def test_a_task_logs_with_its_id_kind_and_slack_event(bot: BotUnderTest) -> None:
    async def fails(_payload: dict[str, Any]) -> None:
        raise RuntimeError("the handler broke")

    bot.rt.tasks.register("obs.replay", fails)
    with json_lines() as captured:
        async with transaction(bot.rt.sessions) as session:
            payload = {"type": "event_callback", "event_id": "Ev0TASK", "team_id": "T0OBS"}
            await tasks.enqueue(session, "obs.replay", payload)
        await until(lambda: "the handler broke" in captured.stream.getvalue())
    [failure, *_] = [line for line in captured.lines() if "the handler broke" in line["message"]]
    assert failure["task_kind"] == "obs.replay" and isinstance(failure["task_id"], int)
    assert failure["event_id"] == "Ev0TASK" and failure["team_id"] == "T0OBS"
    assert failure["level"] == "warning" and "request_id" not in failure


async def test_a_view_sync_logs_with_its_record(bot: BotUnderTest) -> None:
    async def load(_session: object, record_id: str) -> str:
        return record_id

    bot.rt.projector.register(
        "obs.card", load=load, view=lambda _: Rendered(channel="C0NOWHERE", text="x")
    )
    with json_lines() as captured:
        async with transaction(bot.rt.sessions) as session:
            await session.execute(insert(Projection).values(kind="obs.card", record_id="7"))
            session.info["wake_projector"] = True
        await bot.settle()
    [parked] = [line for line in captured.lines() if "parked" in line["message"]]
    assert parked["record"] == "obs.card:7" and parked["logger"] == "bot.core.projector_worker"


def test_text_is_the_default_and_carries_the_same_context() -> None:
    record = logging.LogRecord("bot.web", logging.INFO, __file__, 1, "GET %s", ("/livez",), None)
    with logs.request_scope("req-7"):
        line = logs.formatter().format(record)
    assert "GET /livez" in line and "request_id=req-7" in line and not line.startswith("{")
    assert "request_id=req-7" not in logs.formatter().format(record)  # the scope has ended


@pytest.mark.parametrize("log_format", ["text", "json"])
def test_a_logged_exception_shows_its_traceback_but_no_local_variable(log_format: str) -> None:
    """A traceback renderer that prints locals would write whatever the failing frame held (a
    token, a Slack event's text) into the log."""

    def store(payload: dict[str, str]) -> None:
        token = payload["token"]
        raise RuntimeError(f"could not store ({len(token)} characters)")

    secret = "-".join(["xoxb", "local", "never", "logged"])  # not in any source line shown
    try:
        store({"token": secret})
    except RuntimeError:
        record = logging.LogRecord(
            "bot.core.inbox", logging.ERROR, __file__, 1, "could not store", (), sys.exc_info()
        )
    line = logs.formatter(log_format).format(record)  # type: ignore[arg-type]
    assert "RuntimeError: could not store (23 characters)" in line and "in store" in line
    assert secret not in line
