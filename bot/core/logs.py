"""Logs: one renderer for every logger, JSON lines or text, carrying what the work is about.

The code base logs through `logging.getLogger(__name__)`; structlog's `ProcessorFormatter`
renders those records and structlog's own alike (`LOG_FORMAT=json`: one JSON object per line,
for a log collector; `text`: aligned lines for a person). Context bound here with contextvars
(the HTTP request id, the Slack event and team, the task, the synced record) is added to every
line logged while it holds, so a line can be traced to the request or task behind it.
"""

from __future__ import annotations

import logging
import logging.config
import re
import sys
import uuid
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any, Literal

import structlog
from structlog.stdlib import ProcessorFormatter
from structlog.typing import Processor

from bot.core.tracing import add_trace_ids

LogFormat = Literal["json", "text"]
# A caller's X-Request-Id is kept when it is a plain token; anything else gets a new id.
REQUEST_ID = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")
# Loggers that say too much at INFO for an operator.
QUIET = ("alembic", "apscheduler")
_configured: list[bool] = []


def shared_processors() -> list[Processor]:
    """What every line gets, whichever logger made it."""
    return [
        structlog.contextvars.merge_contextvars,
        structlog.stdlib.add_logger_name,
        structlog.stdlib.add_log_level,
        add_trace_ids,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
    ]


def formatter(log_format: LogFormat = "text") -> ProcessorFormatter:
    """The formatter of the root handler (named in `dict_config`, so uvicorn's worker
    processes, which configure logging from that dictionary, build the same one)."""
    _configure_structlog()
    render: list[Processor]
    if log_format == "json":
        render = [
            structlog.processors.format_exc_info,
            structlog.processors.EventRenamer("message"),
            structlog.processors.JSONRenderer(),
        ]
    else:
        # Plain tracebacks: structlog's default (rich, when installed) prints every frame's
        # local variables, which may hold a token or a message's text, and takes tens of
        # milliseconds a traceback, the cost of thousands of events while the store is down.
        render = [
            structlog.dev.ConsoleRenderer(
                colors=sys.stderr.isatty(), exception_formatter=structlog.dev.plain_traceback
            )
        ]
    return ProcessorFormatter(
        foreign_pre_chain=[*shared_processors(), structlog.stdlib.ExtraAdder()],
        processors=[ProcessorFormatter.remove_processors_meta, *render],
    )


def _configure_structlog() -> None:
    """structlog's own loggers hand their events to the stdlib handler above."""
    structlog.configure(
        processors=[
            structlog.stdlib.filter_by_level,
            *shared_processors(),
            ProcessorFormatter.wrap_for_formatter,
        ],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        cache_logger_on_first_use=True,
    )


def dict_config(log_format: LogFormat, level: str) -> dict[str, Any]:
    """The whole logging set-up as `logging.config.dictConfig` takes it (uvicorn too)."""
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {"opsbot": {"()": f"{__name__}.formatter", "log_format": log_format}},
        "handlers": {
            "stderr": {
                "class": "logging.StreamHandler",
                "formatter": "opsbot",
                "stream": "ext://sys.stderr",
            }
        },
        "root": {"handlers": ["stderr"], "level": level.upper()},
        "loggers": {
            # uvicorn's lines go through the root handler too, not handlers of their own.
            **{name: {"handlers": [], "propagate": True} for name in UVICORN},
            **{name: {"level": "WARNING"} for name in QUIET},
        },
    }


UVICORN = ("uvicorn", "uvicorn.error", "uvicorn.access")


def configure(log_format: LogFormat, level: str) -> None:
    """Route every logger of the process through one renderer (called once, at start-up)."""
    logging.config.dictConfig(dict_config(log_format, level))
    logging.captureWarnings(True)  # Python's warnings too, or they would break the JSON lines
    _configured.append(True)


def adopt_uvicorn() -> None:
    """Undo the handlers a uvicorn server configured with its default dictionary gave its own
    loggers (Socket Mode's webhook server), so its lines render like all others."""
    if not _configured:
        return  # logging is not ours to change (tests, an embedding program)
    for name in UVICORN:
        logger = logging.getLogger(name)
        logger.handlers = []
        logger.propagate = name != "uvicorn.access"  # the access log stays off


def bind(**values: object) -> None:
    """Add `values` to every line logged from here on in this context (empty ones skipped)."""
    structlog.contextvars.bind_contextvars(
        **{key: value for key, value in values.items() if value not in (None, "")}
    )


def request_id_from(header: str | None) -> str:
    return header if header and REQUEST_ID.match(header) else uuid.uuid4().hex


@contextmanager
def request_scope(request_id: str) -> Iterator[None]:
    """Bind the request id for one request; what the request bound goes with it."""
    saved = structlog.contextvars.get_contextvars()
    bind(request_id=request_id)
    try:
        yield
    finally:
        structlog.contextvars.clear_contextvars()
        structlog.contextvars.bind_contextvars(**saved)


def slack_ids(body: Mapping[str, Any]) -> dict[str, str]:
    """The event id and team of a Slack delivery: an event, a command or an interaction."""
    team = body.get("team")
    team_id = body.get("team_id") or (team.get("id") if isinstance(team, Mapping) else None)
    ids = {"event_id": body.get("event_id"), "team_id": team_id}
    return {key: value for key, value in ids.items() if isinstance(value, str) and value}


def bind_slack(body: Mapping[str, Any]) -> None:
    bind(**slack_ids(body))


def bind_task(task_id: int, kind: str, payload: Mapping[str, Any]) -> None:
    """A task's id and kind, and the Slack event it replays if it is one."""
    bind(task_id=task_id, task_kind=kind, **slack_ids(payload))


def bind_record(kind: str, record_id: str) -> None:
    """The record whose Slack view the projector is syncing."""
    bind(record=f"{kind}:{record_id}")
