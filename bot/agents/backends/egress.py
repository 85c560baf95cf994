"""An isolated agent reaches its model API and nothing else: an egress proxy per attempt.

bubblewrap gives a sandbox the whole network or none, so an agent that needs the network is
given none, and one way out: a Unix socket, bound into the sandbox, on which the bot serves
HTTP `CONNECT` to the hosts of the backend's entry (`hosts`, by default its preset's model
API). Inside, `egress_relay.py` listens on the sandbox's own loopback and passes each
connection to that socket; the agent finds it in `HTTPS_PROXY`, which the tools honour. A
connection to any other host is refused with 403 and noted in the attempt's transcript, and
one made around the proxy finds no network at all.

Only `CONNECT` is served: the tools speak HTTPS to their APIs, and a tunnel is all a proxy
needs to see of it. Where the bot itself reaches the internet through a proxy (`HTTPS_PROXY`,
`NO_PROXY`), the tunnels go through that one.
"""

from __future__ import annotations

import asyncio
import contextlib
import shutil
import sys
import tempfile
import urllib.parse
import urllib.request
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path

RELAY = Path(__file__).with_name("egress_relay.py")
INSIDE = "/run/opsbot-egress"  # where the socket's directory is bound in the sandbox
SOCKET_NAME = "egress.sock"
PROXY_PORT = 3128  # on the sandbox's own loopback
HEAD_BYTES = 8192
HEAD_SECONDS = 10.0
CONNECT_SECONDS = 10.0
MOST_CONNECTIONS = 64  # at once, per attempt
REFUSED_KEPT = 20
PROXY_VARIABLES = ("HTTPS_PROXY", "https_proxy", "HTTP_PROXY", "http_proxy", "ALL_PROXY")


def allows(hosts: tuple[str, ...], host: str, port: int) -> bool:
    """Whether `host:port` is one of `hosts`: `name` (port 443), `name:port`, or `*.domain`
    (its subdomains, port 443)."""
    host = host.lower().rstrip(".")
    for entry in hosts:
        name, _, wanted = entry.lower().rpartition(":") if ":" in entry else (entry, "", "443")
        if not wanted.isdigit() or int(wanted) != port:
            continue
        if name == host or (name.startswith("*.") and host.endswith(name[1:])):
            return True
    return False


def split_target(target: str) -> tuple[str, int] | None:
    """`host:port` of a CONNECT line, or None when it is not one."""
    host, _, port = target.rpartition(":")
    host = host.strip("[]")
    if not host or not port.isdigit() or not 0 < int(port) < 65536:
        return None
    return host, int(port)


@dataclass
class Egress:
    """One attempt's proxy: where its socket is, and the connections it refused."""

    hosts: tuple[str, ...]
    directory: Path
    # The hosts refused, each once, the first REFUSED_KEPT of them (an agent may try many).
    refused: list[str] = field(default_factory=list)
    closed: bool = False
    _open: set[asyncio.Task[None]] = field(default_factory=set, repr=False)

    @property
    def socket(self) -> Path:
        return self.directory / SOCKET_NAME

    def environment(self) -> dict[str, str]:
        """What the agent is told: every proxy variable names the relay inside."""
        address = f"http://127.0.0.1:{PROXY_PORT}"
        return {**dict.fromkeys(PROXY_VARIABLES, address), "NO_PROXY": "", "no_proxy": ""}

    def relay_argv(self, argv: list[str]) -> list[str]:
        """`argv` started by the relay, which serves the proxy's port inside the sandbox."""
        inside = f"{INSIDE}/{SOCKET_NAME}"
        return [python(), "-I", "-S", str(RELAY), inside, str(PROXY_PORT), "--", *argv]

    def read_only_paths(self) -> list[str]:
        """What the sandbox must see for the relay to run: the interpreter and the script."""
        return [sys.base_prefix, str(RELAY)]

    def report(self) -> str | None:
        """A line for the transcript when the agent tried hosts it may not reach."""
        if not self.refused:
            return None
        tried = ", ".join(self.refused)
        allowed = ", ".join(self.hosts)
        return f"opsbot: refused connections to {tried} (this agent may reach {allowed})"

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        current = asyncio.current_task()
        if current is not None:
            self._open.add(current)
        try:
            if self.closed or len(self._open) > MOST_CONNECTIONS:
                # The attempt is over, or it opens more than any tool needs: each connection
                # holds one of the bot's file descriptors.
                await _answer(writer, "503 Service Unavailable", "too many connections")
                return
            target = await self._target(reader, writer)
            if target is not None:
                await self._tunnel(target, reader, writer)
        except (OSError, asyncio.IncompleteReadError, asyncio.LimitOverrunError, TimeoutError):
            pass
        finally:
            self._open.discard(current)
            writer.close()
            with contextlib.suppress(OSError):
                await writer.wait_closed()

    async def close(self) -> None:
        """End the tunnels still open: the attempt they served is over."""
        self.closed = True
        for tunnel in list(self._open):
            tunnel.cancel()
        await asyncio.gather(*self._open, return_exceptions=True)

    async def _target(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> tuple[str, int] | None:
        head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), HEAD_SECONDS)
        method, _, rest = head.decode("latin-1").partition(" ")
        target = split_target(rest.partition(" ")[0])
        if method != "CONNECT" or target is None:
            await _answer(writer, "405 Method Not Allowed", "only CONNECT host:port is served")
            return None
        host, port = target
        if not allows(self.hosts, host, port):
            if len(self.refused) < REFUSED_KEPT and f"{host}:{port}" not in self.refused:
                self.refused.append(f"{host}:{port}")
            await _answer(writer, "403 Forbidden", f"{host}:{port} is not among this agent's hosts")
            return None
        return target

    async def _tunnel(
        self, target: tuple[str, int], reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        host, port = target
        try:
            upstream = await asyncio.wait_for(
                _open(host, port, deployment_proxy(host)), CONNECT_SECONDS
            )
        except (OSError, EOFError, asyncio.LimitOverrunError, TimeoutError) as error:
            # EOFError: the deployment's proxy hung up (IncompleteReadError)
            await _answer(writer, "502 Bad Gateway", f"{host}:{port}: {error or 'no answer'}")
            return
        far_reader, far_writer = upstream
        writer.write(b"HTTP/1.1 200 Connection Established\r\n\r\n")
        await writer.drain()
        try:
            await asyncio.gather(_pipe(reader, far_writer), _pipe(far_reader, writer))
        finally:
            far_writer.close()


async def _open(
    host: str, port: int, upstream: tuple[str, int] | None
) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    """A connection to `host:port`: directly, or tunnelled through the deployment's proxy."""
    if upstream is None:
        return await asyncio.open_connection(host, port)
    reader, writer = await asyncio.open_connection(*upstream)
    try:
        writer.write(f"CONNECT {host}:{port} HTTP/1.1\r\nHost: {host}:{port}\r\n\r\n".encode())
        await writer.drain()
        head = await reader.readuntil(b"\r\n\r\n")
        status = head.split(b"\r\n", 1)[0].decode("latin-1")
        if status.split(" ")[1:2] != ["200"]:
            raise OSError(f"the deployment's proxy answered {status}")
    except BaseException:
        writer.close()
        raise
    return reader, writer


def deployment_proxy(host: str) -> tuple[str, int] | None:
    """The proxy the bot itself goes through to reach `host` (HTTPS_PROXY, NO_PROXY)."""
    if urllib.request.proxy_bypass(host):
        return None
    address = urllib.request.getproxies().get("https")
    if not address:
        return None
    parsed = urllib.parse.urlsplit(address if "//" in address else f"http://{address}")
    return (parsed.hostname, parsed.port or 80) if parsed.hostname else None


async def _answer(writer: asyncio.StreamWriter, status: str, reason: str) -> None:
    body = f"{reason}\n".encode()
    writer.write(
        f"HTTP/1.1 {status}\r\nContent-Type: text/plain\r\nContent-Length: {len(body)}\r\n"
        f"Connection: close\r\n\r\n".encode()
        + body
    )
    await writer.drain()


async def _pipe(source: asyncio.StreamReader, sink: asyncio.StreamWriter) -> None:
    try:
        while chunk := await source.read(65536):
            sink.write(chunk)
            await sink.drain()
    except OSError:
        pass
    finally:
        with contextlib.suppress(OSError):
            if sink.can_write_eof():
                sink.write_eof()


def python() -> str:
    """The interpreter the relay runs on: the bot's own, outside any virtual environment."""
    version = f"python{sys.version_info.major}.{sys.version_info.minor}"
    return str(Path(sys.base_prefix) / "bin" / version)


@contextlib.asynccontextmanager
async def serving(hosts: tuple[str, ...]) -> AsyncIterator[Egress]:
    """An egress proxy for one attempt, served until the block ends."""
    directory = Path(tempfile.mkdtemp(prefix="opsbot-egress-"))
    egress = Egress(hosts, directory)
    server = await asyncio.start_unix_server(egress.handle, str(egress.socket), limit=HEAD_BYTES)
    try:
        yield egress
    finally:
        server.close()
        await egress.close()
        with contextlib.suppress(Exception):
            await asyncio.wait_for(server.wait_closed(), 1.0)
        shutil.rmtree(directory, ignore_errors=True)
