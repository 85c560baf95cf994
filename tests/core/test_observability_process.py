"""`opsbot serve` as an operator runs it: JSON logs, OTLP traces, a metrics port of its own."""

from __future__ import annotations

import contextlib
import json
import os
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest
from opentelemetry import trace
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from sqlalchemy import create_engine

from bot.core import tracing
from bot.models import metadata
from bot.sandbox.events import envelope
from bot.sandbox.harness import running_bot
from bot.sandbox.signing import signed_headers
from bot.sandbox.state import SandboxState

OPSBOT = [sys.executable, "-m", "bot.cli"]
SECRET = "serve-secret"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextlib.contextmanager
def serving(tmp_path: Path, env: dict[str, str]) -> Iterator[tuple[str, Path]]:
    """`opsbot serve` on loopback with `env`, against an unreachable Slack, until it answers
    /livez: its base URL and the file its stderr goes to."""
    port = _free_port()
    clean = {
        k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "OPSBOT_", "OTEL_"))
    }
    settings = {
        "SLACK_BOT_TOKEN": "xoxb-test",
        "SLACK_SIGNING_SECRET": SECRET,
        "SLACK_API_URL": "http://127.0.0.1:9/api/",
        "DATABASE_URL": f"sqlite:///{tmp_path}/serve.db",
    }
    # Tables made here: migrating costs the process seconds and is tested elsewhere.
    engine = create_engine(settings["DATABASE_URL"])
    metadata.create_all(engine)
    engine.dispose()
    log = tmp_path / "serve.log"
    with log.open("w") as errors:
        process = subprocess.Popen(
            [*OPSBOT, "serve", "--no-migrate", "--host", "127.0.0.1", "--port", str(port)],
            env={**clean, **settings, **env},
            stdout=subprocess.DEVNULL,
            stderr=errors,
        )
        base = f"http://127.0.0.1:{port}"
        try:
            for _ in range(300):
                try:
                    if httpx.get(f"{base}/livez", timeout=0.5).status_code == 200:
                        break
                except httpx.TransportError:
                    time.sleep(0.05)
            else:
                raise AssertionError(f"opsbot serve did not come up: {log.read_text()}")
            yield base, log
        finally:
            process.terminate()
            process.wait(timeout=30)


def signed_event(event_id: str) -> tuple[bytes, dict[str, str]]:
    event = {"type": "app_home_opened", "user": "U0ALICE", "channel": "D0ALICE", "tab": "home"}
    body = json.dumps(envelope(SandboxState(), event, event_id, int(time.time()))).encode()
    headers = {"Content-Type": "application/json", **signed_headers(SECRET, int(time.time()), body)}
    return body, headers


class Collector:
    """A stand-in OTLP/HTTP receiver: keeps what is POSTed to /v1/traces."""

    def __init__(self) -> None:
        self.exports: list[ExportTraceServiceRequest] = []
        collector = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                if self.path == "/v1/traces":
                    collector.exports.append(ExportTraceServiceRequest.FromString(body))
                self.send_response(200)
                self.send_header("Content-Type", "application/x-protobuf")
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *_args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def spans(self) -> list[Any]:
        return [
            span
            for export in self.exports
            for resource in export.resource_spans
            for scope in resource.scope_spans
            for span in scope.spans
        ]


@dataclass
class Served:
    base: str
    log: Path
    collector: Collector
    metrics_port: int


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    """One `opsbot serve` set up as in production: JSON logs, traces exported to a stand-in
    receiver, metrics on a port of their own (one process: each start costs seconds)."""
    collector = Collector()
    metrics_port = _free_port()
    env = {
        "LOG_FORMAT": "json",
        "OTEL_EXPORTER_OTLP_ENDPOINT": collector.url,
        "OTEL_BSP_SCHEDULE_DELAY": "100",
        "OPSBOT_METRICS_PORT": str(metrics_port),
    }
    try:
        with serving(tmp_path_factory.mktemp("serve"), env) as (base, log):
            yield Served(base, log, collector, metrics_port)
    finally:
        collector.server.shutdown()


def test_json_logs_carry_the_request_and_event_and_traces_are_exported(served: Served) -> None:
    body, headers = signed_event("Ev0OBSERVE")
    answer = httpx.post(
        f"{served.base}/slack/events", content=body, headers={**headers, "X-Request-Id": "req-42"}
    )
    assert answer.status_code == 200 and answer.headers["x-request-id"] == "req-42"
    generated = httpx.get(f"{served.base}/livez").headers["x-request-id"]
    assert len(generated) == 32 and generated != "req-42"
    for _ in range(100):
        spans = served.collector.spans()
        if any(span.name == "POST /slack/events" for span in spans):
            break
        time.sleep(0.1)

    lines = [json.loads(line) for line in served.log.read_text().splitlines() if line.strip()]
    [start] = [line for line in lines if "starting" in line["message"]]
    assert start["version"] and start["mode"] == "http" and start["store"] == "sqlite"
    assert start["port"] == int(served.base.rsplit(":", 1)[1]) and "incidents" in start["features"]
    assert start["metrics_port"] == served.metrics_port and start["traces"] == "otlp"
    [request] = [line for line in lines if line.get("request_id") == "req-42"]
    assert request["event_id"] == "Ev0OBSERVE" and request["team_id"] == SandboxState().team_id
    assert request["route"] == "/slack/events" and request["status"] == 200

    [server] = [span for span in spans if span.name == "POST /slack/events"]
    assert server.trace_id.hex() == request["trace_id"]  # the log line leads to its trace
    assert any(span.name == "slack auth.test" for span in spans)  # who the bot is, asked at start
    statements = [s for s in spans if any(a.key.startswith("db.system") for a in s.attributes)]
    assert any(span.name.startswith("INSERT") for span in statements)  # the event, stored


def test_metrics_port_serves_metrics_and_the_public_port_does_not(served: Served) -> None:
    assert httpx.get(f"{served.base}/metrics").status_code == 404
    scraped = httpx.get(f"http://127.0.0.1:{served.metrics_port}/metrics")
    assert scraped.status_code == 200
    text = scraped.text
    # The app's own registry: its requests, the database's figures and the process's.
    assert 'opsbot_http_requests_total{route="/livez",status="200"}' in text
    assert 'opsbot_http_requests_total{route="unmatched",status="404"}' in text
    assert "opsbot_database_up 1.0" in text and "opsbot_projector_dirty" in text
    assert "process_resident_memory_bytes" in text and "python_info" in text


async def test_without_an_endpoint_nothing_is_traced(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in tracing.ENDPOINT_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    async with running_bot(f"sqlite+aiosqlite:///{tmp_path}/t.db", start_workers=False) as bot:
        assert (await bot.http.get("/livez")).status_code == 200
        assert not getattr(bot.rt.web, "_is_instrumented_by_opentelemetry", False)
    assert not tracing.enabled()
    assert type(trace.get_tracer_provider()).__name__ == "ProxyTracerProvider"  # the API's no-op
