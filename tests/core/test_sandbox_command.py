"""`opsbot sandbox` as an operator runs it: a process that prints where Slack is and which
credentials it takes, answers them, and stops cleanly on SIGTERM."""

from __future__ import annotations

import os
import queue
import signal
import socket
import subprocess
import sys
import threading
import time

import httpx

from bot.cli import parser

OPSBOT = [sys.executable, "-m", "bot.cli"]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _read_settings(process: subprocess.Popen[str], count: int, timeout: float) -> dict[str, str]:
    """The first `count` NAME=value lines the sandbox prints, or fail after `timeout`."""
    lines: queue.Queue[str] = queue.Queue()
    assert process.stdout is not None
    stdout = process.stdout
    threading.Thread(target=lambda: [lines.put(line) for line in stdout], daemon=True).start()
    found: dict[str, str] = {}
    deadline = time.monotonic() + timeout
    while len(found) < count:
        try:
            line = lines.get(timeout=max(0.0, deadline - time.monotonic()))
        except queue.Empty:
            raise AssertionError(f"sandbox printed only {found} ({process.poll()=})") from None
        name, _, value = line.strip().partition("=")
        found[name] = value
    return found


def test_sandbox_prints_settings_that_work_and_stops_on_sigterm() -> None:
    port = _free_port()
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "OPSBOT_"))}
    process = subprocess.Popen(
        [*OPSBOT, "sandbox", "--port", str(port)],
        env=clean,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        printed = _read_settings(process, 4, timeout=30)
        assert set(printed) == {
            "SLACK_API_URL",
            "SLACK_BOT_TOKEN",
            "SLACK_SIGNING_SECRET",
            "SLACK_APP_TOKEN",
        }
        url = printed["SLACK_API_URL"]
        assert url == f"http://127.0.0.1:{port}/api/"

        bearer = {"Authorization": f"Bearer {printed['SLACK_BOT_TOKEN']}"}
        auth = httpx.post(f"{url}auth.test", headers=bearer, timeout=10).json()
        assert auth["ok"] is True and auth["user_id"]
        wrong = httpx.post(f"{url}auth.test", headers={"Authorization": "Bearer xoxb-typo"})
        assert wrong.json() == {"ok": False, "error": "invalid_auth"}
        app = {"Authorization": f"Bearer {printed['SLACK_APP_TOKEN']}"}
        opened = httpx.post(f"{url}apps.connections.open", headers=app, timeout=10).json()
        assert opened["ok"] is True and opened["url"].startswith(f"ws://127.0.0.1:{port}/")
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=30)
    assert process.stderr is not None
    errors = process.stderr.read()  # one line: no risk of a full pipe while it ran
    assert process.returncode == 0, errors
    assert "Traceback" not in errors


def test_the_printed_credentials_are_the_ones_tests_and_the_demo_use() -> None:
    """Events signed by the sandbox's driver must verify against the printed signing secret."""
    from bot import sandbox_command
    from bot.sandbox import harness

    assert sandbox_command.BOT_TOKEN == harness.BOT_TOKEN
    assert sandbox_command.SIGNING_SECRET == harness.SIGNING_SECRET


def test_sandbox_listens_on_3001_unless_told_otherwise() -> None:
    assert parser().parse_args(["sandbox"]).port == 3001
    assert parser().parse_args(["sandbox", "--port", "4000"]).port == 4000
