"""The egress proxy: which hosts an agent's `CONNECT` may reach, spoken over its real socket."""

from __future__ import annotations

import asyncio

import pytest

from bot.agents.backends import egress
from bot.agents.backends.command import reach_of
from bot.agents.settings import AgentBackend, AgentsConfig

HOSTS = ("api.openai.com", "*.googleapis.com", "127.0.0.1:8443")


@pytest.mark.parametrize(
    ("host", "port", "allowed"),
    [
        ("api.openai.com", 443, True),
        ("API.OpenAI.com.", 443, True),
        ("api.openai.com", 80, False),
        ("evil-api.openai.com", 443, False),
        ("openai.com", 443, False),
        ("generativelanguage.googleapis.com", 443, True),
        ("googleapis.com", 443, False),
        ("googleapis.com.evil.example", 443, False),
        ("127.0.0.1", 8443, True),
        ("127.0.0.1", 443, False),
    ],
)
def test_allows_names_ports_and_subdomains(host: str, port: int, allowed: bool) -> None:
    assert egress.allows(HOSTS, host, port) is allowed


async def _ask(proxy: egress.Egress, head: bytes) -> str:
    reader, writer = await asyncio.open_unix_connection(str(proxy.socket))
    writer.write(head)
    await writer.drain()
    answer = await asyncio.wait_for(reader.read(4096), 5)
    writer.close()
    return answer.decode()


async def test_the_proxy_answers_what_it_will_not_do() -> None:
    async with egress.serving(("127.0.0.1:1",)) as proxy:
        assert (await _ask(proxy, b"GET http://x/ HTTP/1.1\r\n\r\n")).startswith(
            "HTTP/1.1 405 Method Not Allowed"
        )
        assert (await _ask(proxy, b"CONNECT nonsense HTTP/1.1\r\n\r\n")).startswith("HTTP/1.1 405")
        refused = await _ask(proxy, b"CONNECT example.com:443 HTTP/1.1\r\n\r\n")
        assert refused.startswith("HTTP/1.1 403 Forbidden")
        assert "example.com:443 is not among this agent's hosts" in refused
        # An allowed host that does not answer: a gateway error, not a hang.
        assert (await _ask(proxy, b"CONNECT 127.0.0.1:1 HTTP/1.1\r\n\r\n")).startswith(
            "HTTP/1.1 502 Bad Gateway"
        )
        assert proxy.refused == ["example.com:443"]
        directory = proxy.directory
    assert not directory.exists()  # the socket goes with the attempt


def _reach(agents: AgentsConfig, **entry: object) -> str:
    backend = AgentBackend.model_validate({"name": "a", **entry})
    return reach_of(backend, agents).describe()


def test_what_each_backend_may_reach() -> None:
    agents = AgentsConfig()
    assert _reach(agents, preset="codex") == ("api.openai.com only, through opsbot's egress proxy")
    assert _reach(agents, preset="codex", hosts=["llm.internal:8443"]).startswith(
        "llm.internal:8443 only"
    )
    assert _reach(agents, kind="command", command=["x"]) == "no network"
    assert _reach(agents, kind="command", command=["x"], network=True) == "the whole network"
    assert _reach(agents.model_copy(update={"egress": "open"}), preset="codex") == (
        "the whole network"
    )
    # Hosts named are the network an agent needs: no `network: true` besides; none is refused.
    assert _reach(agents, kind="command", command=["x"], hosts=["llm.internal"]).startswith(
        "llm.internal only"
    )
    with pytest.raises(ValueError, match="name at least one host"):
        AgentBackend.model_validate({"name": "a", "preset": "codex", "hosts": []})
    with pytest.raises(ValueError, match="a host is name, name:port or"):
        AgentBackend.model_validate({"name": "a", "preset": "codex", "hosts": ["http://x/"]})


async def test_tunnels_go_through_the_deployments_own_proxy(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Where the bot reaches the internet through a proxy, so do its agents' tunnels."""
    asked: list[str] = []

    async def model_api(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.write(b"model says " + await reader.read(100))
        await writer.drain()
        writer.close()

    async def company_proxy(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        head = (await reader.readuntil(b"\r\n\r\n")).decode()
        asked.append(head.split(" ")[1])
        writer.write(b"HTTP/1.1 200 OK\r\n\r\n")
        far_reader, far_writer = await asyncio.open_connection("127.0.0.1", api_port)
        far_writer.write(await reader.read(100))
        writer.write(await far_reader.read(100))
        await writer.drain()
        writer.close()

    api = await asyncio.start_server(model_api, "127.0.0.1", 0)
    api_port = api.sockets[0].getsockname()[1]
    company = await asyncio.start_server(company_proxy, "127.0.0.1", 0)
    monkeypatch.setenv("HTTPS_PROXY", f"http://127.0.0.1:{company.sockets[0].getsockname()[1]}")
    monkeypatch.delenv("NO_PROXY", raising=False)
    monkeypatch.delenv("no_proxy", raising=False)
    try:
        async with egress.serving(("api.example.com",)) as proxy:
            reader, writer = await asyncio.open_unix_connection(str(proxy.socket))
            writer.write(b"CONNECT api.example.com:443 HTTP/1.1\r\n\r\n")
            assert (await reader.readuntil(b"\r\n\r\n")).startswith(b"HTTP/1.1 200")
            writer.write(b"hello")
            assert await asyncio.wait_for(reader.read(100), 5) == b"model says hello"
            writer.close()
    finally:
        api.close()
        company.close()
    assert asked == ["api.example.com:443"]


async def test_an_agent_cannot_hold_the_bots_descriptors_or_grow_its_memory() -> None:
    """Connections at once are capped, and refused hosts are kept once each, up to a bound."""
    async with egress.serving(("127.0.0.1:1",)) as proxy:
        idle = [await asyncio.open_unix_connection(str(proxy.socket)) for _ in range(70)]
        await asyncio.sleep(0.2)  # each is accepted and waits for its request line
        answers = [await asyncio.wait_for(reader.read(200), 5) for reader, _ in idle[64:]]
        assert all(a.startswith(b"HTTP/1.1 503 Service Unavailable") for a in answers)
        for _, writer in idle:
            writer.close()
        for number in range(30):
            await _ask(proxy, f"CONNECT host{number % 25}.example:443 HTTP/1.1\r\n\r\n".encode())
        assert len(proxy.refused) == egress.REFUSED_KEPT == 20
        assert len(set(proxy.refused)) == 20
