"""A command agent runs in a sandbox: it cannot read the bot's secrets, write outside its
worktree or reach the network unless its backend needs it (real bubblewrap, real git)."""

from __future__ import annotations

import asyncio
import json
import shutil
import sys
from pathlib import Path

import pytest

from bot.agents import models as m
from bot.agents.backends import isolation
from bot.agents.backends.base import BackendRejected
from bot.agents.settings import AgentBackend, AgentsConfig
from bot.sandbox.agent_git import make_repo
from tests.agents.backend_runs import REPO, drive, job
from tests.agents.isolated import sandbox

ESCAPE = Path(__file__).with_name("escape_agent.py")


SANDBOXES = pytest.mark.parametrize("tool", ["bubblewrap", "podman"])


def _agents(tmp_path: Path, tool: str = "bubblewrap", **entry: object) -> AgentsConfig:
    checkout = make_repo(tmp_path / "checkout")
    backend = {"name": "escape", "kind": "command", "command": [sys.executable, str(ESCAPE)]}
    backend.update(entry)
    return AgentsConfig(
        backends=[AgentBackend.model_validate(backend)],
        checkouts={REPO: str(checkout)},
        worktree_root=str(tmp_path / "trees"),
        **sandbox(tool),
    )


@pytest.fixture
async def listener() -> tuple[int, list[int]]:
    """A port on loopback, as the bot's own services have, counting who connects."""
    connections: list[int] = []

    async def accept(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        connections.append(1)
        writer.close()

    server = await asyncio.start_server(accept, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    yield port, connections
    server.close()


@SANDBOXES
async def test_an_agent_cannot_reach_what_the_bot_can(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, listener: tuple[int, list[int]], tool: str
) -> None:
    monkeypatch.setenv("SLACK_BOT_TOKEN", "xoxb-the-bots-token")
    database = tmp_path / "opsbot.db"
    database.write_text("xoxb-stored-installation-token")
    outside = tmp_path / "checkout" / ".git" / "hooks" / "pre-commit"  # run by the bot's git
    port, connections = listener
    marker = tmp_path / "PWNED"
    agents = _agents(tmp_path, tool)
    escape = f"escape READ={database} WRITE={outside} CONNECT={port} MARKER={marker}"
    updates = await drive(agents, job(1, escape))

    final = updates[-1]
    assert final.state == m.COMPLETED and final.outcome and final.outcome.summary, updates
    found = json.loads(final.outcome.summary.splitlines()[0])
    assert found["env"] == [] and found["processes"] == []  # no token, no bot process seen
    assert found["read"].startswith("refused")  # the database is not in its world
    assert found["write"].startswith("refused") and not outside.exists()
    assert found["connect"].startswith("refused") and connections == []
    assert found["worktree"] == "done"
    assert not marker.exists()  # the bot's git ignored the tree's rewritten .git file
    # Its memory is capped: a container's cgroup, or the data limit under bubblewrap.
    cap = agents.memory_mb * 1024 * 1024
    if tool == "podman":
        assert found["memory"]["cgroup"] == cap
    else:
        assert found["memory"]["data"] == cap


@SANDBOXES
async def test_an_agent_that_needs_the_network_has_it(
    tmp_path: Path, listener: tuple[int, list[int]], tool: str
) -> None:
    port, connections = listener
    agents = _agents(tmp_path, tool, network=True)
    updates = await drive(agents, job(1, f"escape READ=/nonexistent WRITE=/x CONNECT={port}"))
    outcome = updates[-1].outcome
    assert outcome and outcome.summary
    assert json.loads(outcome.summary.splitlines()[0])["connect"] == "done"
    assert connections == [1]


async def test_without_bubblewrap_a_command_agent_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(isolation, "bubblewrap", lambda: None)
    agents = _agents(tmp_path)
    agents.isolation = "auto"
    with pytest.raises(BackendRejected, match="agents.isolation: none"):
        await drive(agents, job(1, "escape READ=/x WRITE=/y CONNECT=1"))
    assert "unavailable" in isolation.describe("auto")
    assert "unisolated" in isolation.describe("none")


@pytest.fixture
async def echo() -> tuple[int, list[bytes]]:
    """A service on the bot's loopback that answers what it hears: an agent's model API."""
    heard: list[bytes] = []

    async def answer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        data = await reader.read(100)
        heard.append(data)
        writer.write(b"model says " + data)
        await writer.drain()
        writer.close()

    server = await asyncio.start_server(answer, "127.0.0.1", 0)
    yield server.sockets[0].getsockname()[1], heard
    server.close()


@SANDBOXES
async def test_an_agent_reaches_its_hosts_and_no_other_through_the_egress_proxy(
    tmp_path: Path, echo: tuple[int, list[bytes]], tool: str
) -> None:
    port, heard = echo
    model_api = f"127.0.0.1:{port}"
    agents = _agents(tmp_path, tool, network=True, hosts=[model_api])
    tunnels = f"TUNNEL={model_api},exfiltrate.example:443"
    updates = await drive(agents, job(1, f"escape READ=/x WRITE=/y CONNECT={port} {tunnels}"))

    final = updates[-1]
    assert final.state == m.COMPLETED and final.outcome and final.outcome.summary, updates
    found = json.loads(final.outcome.summary.splitlines()[0])
    # Around the proxy there is no network: the bot's loopback is not the sandbox's.
    assert found["connect"].startswith("refused")
    # Through it, the model API answers, and only the model API.
    assert found[f"tunnel {model_api}"] == "HTTP/1.1 200 Connection Established model says hello"
    assert heard == [b"hello"]
    assert found["tunnel exfiltrate.example:443"].startswith("HTTP/1.1 403 Forbidden")
    # The transcript says what was refused, for whoever wonders why an agent failed.
    transcript = final.outcome.transcript or ""
    assert f"refused connections to exfiltrate.example:443 (this agent may reach {model_api})" in (
        transcript
    )


async def test_egress_open_gives_an_agent_with_hosts_the_whole_network(
    tmp_path: Path, listener: tuple[int, list[int]]
) -> None:
    port, connections = listener
    agents = _agents(tmp_path, network=True, hosts=["api.openai.com"])
    agents.egress = "open"
    updates = await drive(agents, job(1, f"escape READ=/x WRITE=/y CONNECT={port}"))
    outcome = updates[-1].outcome
    assert outcome and outcome.summary
    assert json.loads(outcome.summary.splitlines()[0])["connect"] == "done"
    assert connections == [1]


async def test_a_stopped_attempt_leaves_no_container(tmp_path: Path) -> None:
    """podman's client dying does not stop its container: the attempt removes it."""
    fake = Path(__file__).with_name("fake_agent.py")
    agents = _agents(tmp_path, "podman", command=[sys.executable, str(fake)])
    attempt = asyncio.create_task(drive(agents, job(1, "slow")))
    started = tmp_path / "trees" / "octo-org__octo-repo" / "opsbot-agent-1-1" / ".agent-started"
    for _ in range(300):
        if started.exists() or attempt.done():
            break
        await asyncio.sleep(0.05)
    assert started.exists(), attempt
    assert "opsbot-opsbot-agent-1-1-" in await _containers()
    attempt.cancel()
    with pytest.raises(asyncio.CancelledError):
        await attempt
    assert "opsbot-opsbot-agent-1-1-" not in await _containers()


async def _containers() -> str:
    process = await asyncio.create_subprocess_exec(
        "podman", "ps", "--all", "--format", "{{.Names}}", stdout=asyncio.subprocess.PIPE
    )
    out, _ = await process.communicate()
    return out.decode()


@SANDBOXES
async def test_a_node_agent_runs_webassembly_under_the_memory_cap(
    tmp_path: Path, tool: str
) -> None:
    """V8 reserves 10 GiB of address space for each WebAssembly memory: a cap on address space
    would stop Claude Code or Gemini CLI; the cap on what it writes does not."""
    node = shutil.which("node")
    if node is None:
        pytest.skip("Node.js is not installed here")
    agents = _agents(tmp_path, tool, command=[node, str(Path(__file__).with_name("node_agent.js"))])
    agents.memory_mb = 512
    updates = await drive(agents, job(1, "edit"))
    final = updates[-1]
    assert final.state == m.COMPLETED and final.outcome and final.outcome.summary, updates
    assert json.loads(final.outcome.summary.splitlines()[0])["wasm"] == "done"
    assert final.outcome.files_changed == 1
    # What it writes is capped: past 512 MiB it is stopped, and its attempt fails.
    hog = (await drive(agents, job(2, "hog 1024")))[-1]
    assert hog.state == m.FAILED and "The agent command exited with code" in (hog.error or "")
    assert not hog.outcome  # nothing committed from a run that was stopped
