"""OpenTelemetry traces: HTTP requests, database statements and Slack calls, sent by OTLP.

Off unless OTEL_EXPORTER_OTLP_ENDPOINT (or OTEL_EXPORTER_OTLP_TRACES_ENDPOINT) is set; when
off, nothing of OpenTelemetry's SDK is imported and no instrumentation is installed. The
exporter reads the standard OTEL_* variables itself (headers, timeout, service name, batch
delay), so an operator configures it as any other OpenTelemetry program.
"""

from __future__ import annotations

import os
import re
from collections.abc import MutableMapping
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from fastapi import FastAPI
    from sqlalchemy.ext.asyncio import AsyncEngine

ENDPOINT_VARIABLES = ("OTEL_EXPORTER_OTLP_ENDPOINT", "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT")
# Probes and scrapes every few seconds would drown the traces that matter.
UNTRACED_ROUTES = "/livez,/readyz,/healthz,/metrics"
SLACK_METHOD = re.compile(r"/api/([a-z]+(?:\.[A-Za-z]+)+)$")
_installed: list[bool] = []


def wanted() -> bool:
    return any(os.environ.get(name) for name in ENDPOINT_VARIABLES)


def enabled() -> bool:
    return bool(_installed)


def install(version: str = "unknown") -> bool:
    """Set up the tracer provider and the Slack (aiohttp) instrumentation, once per process,
    if an endpoint is configured. Whether tracing is on."""
    if _installed or not wanted():
        return enabled()
    from opentelemetry import trace
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
    from opentelemetry.instrumentation.aiohttp_client import AioHttpClientInstrumentor
    from opentelemetry.sdk.resources import SERVICE_NAME, SERVICE_VERSION, Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor

    # Besides these, OTEL_RESOURCE_ATTRIBUTES (a deployment's environment, its pod) is read.
    service = os.environ.get("OTEL_SERVICE_NAME") or "opsbot"
    resource = Resource.create({SERVICE_NAME: service, SERVICE_VERSION: version})
    provider = TracerProvider(resource=resource)  # flushes at exit by itself
    provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter()))
    trace.set_tracer_provider(provider)
    # slack_sdk's clients talk over aiohttp: every Web API attempt becomes a client span.
    AioHttpClientInstrumentor().instrument(request_hook=_name_slack_span)
    _installed.append(True)
    return True


def _name_slack_span(span: Any, params: Any) -> None:
    """`POST` tells nothing: name a Web API call's span after its method."""
    found = SLACK_METHOD.search(str(getattr(params, "url", "")).split("?", 1)[0])
    if found and span.is_recording():
        span.update_name(f"slack {found.group(1)}")
        span.set_attribute("slack.method", found.group(1))


def instrument(app: FastAPI, engine: AsyncEngine) -> None:
    """Spans for the app's requests and the engine's statements, when tracing is on."""
    if not enabled():
        return
    from opentelemetry.instrumentation.fastapi import FastAPIInstrumentor
    from opentelemetry.instrumentation.sqlalchemy import SQLAlchemyInstrumentor

    FastAPIInstrumentor.instrument_app(app, excluded_urls=UNTRACED_ROUTES)
    # It declares SQLAlchemy < 2.1 and would refuse ours; it only uses the engine's cursor
    # events, which 2.1 keeps (the end-to-end test sees the statements' spans).
    SQLAlchemyInstrumentor().instrument(engine=engine.sync_engine, skip_dep_check=True)


def add_trace_ids(_logger: Any, _method: str, event: MutableMapping[str, Any]) -> Any:
    """A structlog processor: the current trace and span ids, so logs and traces join up."""
    if not _installed:
        return event
    from opentelemetry import trace

    context = trace.get_current_span().get_span_context()
    if context.is_valid:
        event["trace_id"] = format(context.trace_id, "032x")
        event["span_id"] = format(context.span_id, "016x")
    return event
