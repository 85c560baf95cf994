"""The Grafana dashboard in deploy/grafana: it loads, and asks only for series the bot exports,
as read from the bot's own /metrics."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from prometheus_client.parser import text_string_to_metric_families

from bot.core.db import make_engine
from bot.models import metadata
from bot.sandbox.harness import running_bot
from tests.deploy.tools import ROOT

DASHBOARD = ROOT / "deploy" / "grafana" / "opsbot.json"
# Added by the backlog / dead-task / lag work of issue 14; panels for them are already here.
COMING = {
    "opsbot_task_backlog",
    "opsbot_task_oldest_seconds",
    "opsbot_tasks_dead",
    "opsbot_projector_lag_seconds",
}
SHOWN = COMING | {
    "opsbot_http_requests_total",
    "opsbot_http_request_seconds_bucket",
    "opsbot_tasks_total",
    "opsbot_projector_syncs_total",
    "opsbot_slack_api_calls_total",
    "opsbot_jobs_total",
    "opsbot_projector_dirty",
    "opsbot_inbox_commits_total",
}


SUFFIXES = {
    "counter": ("_total", "_created"),
    "histogram": ("_bucket", "_count", "_sum", "_created"),
}


async def exported(tmp_path: Path) -> set[str]:
    """Every series name the bot's /metrics declares (_total, _bucket... included), read from
    the real web app on a migrated SQLite database, so the figures read from it are there too."""
    url = f"sqlite+aiosqlite:///{tmp_path}/opsbot.db"
    engine = make_engine(url)
    async with engine.begin() as connection:
        await connection.run_sync(metadata.create_all)
    await engine.dispose()
    async with running_bot(url, start_workers=False) as bot:
        response = await bot.http.get("/metrics")
    assert response.status_code == 200
    names: set[str] = set()
    for family in text_string_to_metric_families(response.text):
        names.add(family.name)
        names.update(family.name + suffix for suffix in SUFFIXES.get(family.type, ()))
    return names


def panels(items: list[dict[str, Any]]) -> Iterator[dict[str, Any]]:
    for panel in items:
        yield panel
        yield from panels(panel.get("panels", []))


def queries(dashboard: dict[str, Any]) -> list[str]:
    found = [t["expr"] for p in panels(dashboard["panels"]) for t in p.get("targets", [])]
    for variable in dashboard["templating"]["list"]:
        if variable["type"] == "query":
            found.append(variable["definition"])
    return found


def test_dashboard_loads_with_unique_panels() -> None:
    dashboard = json.loads(DASHBOARD.read_text())
    assert dashboard["uid"] == "opsbot" and dashboard["title"]
    ids = [panel["id"] for panel in panels(dashboard["panels"])]
    assert len(ids) == len(set(ids))
    for panel in panels(dashboard["panels"]):
        if panel["type"] != "row":
            title, grid = panel["title"], panel["gridPos"]
            assert panel["targets"] and panel["datasource"]["uid"] == "${datasource}", title
            assert grid["x"] + grid["w"] <= 24, title


async def test_every_metric_it_queries_is_exported_by_the_bot(tmp_path: Path) -> None:
    known = await exported(tmp_path) | COMING
    used = {name for q in queries(json.loads(DASHBOARD.read_text())) for name in
            re.findall(r"\b(?:opsbot|process|python)_[a-z0-9_]+", q)}  # fmt: skip
    assert used, "no opsbot metric in the dashboard"
    assert used <= known, f"not exported by the bot: {sorted(used - known)}"


def test_every_metric_of_the_issue_has_a_panel() -> None:
    used = " ".join(queries(json.loads(DASHBOARD.read_text())))
    missing = {name for name in SHOWN if not re.search(rf"\b{name}\b", used)}
    assert not missing


def test_job_firings_are_grouped_by_the_jobs_own_label() -> None:
    # `job` is the scrape job's label on every series; opsbot's scheduled job is `job_name`.
    # A panel grouping by `job` would show one line per scrape target.
    for query in queries(json.loads(DASHBOARD.read_text())):
        if "opsbot_jobs_total" in query:
            assert re.search(r"by \([^)]*\bjob_name\b", query), query
            assert not re.search(r"by \([^)]*\bjob\b", query) and "exported_job" not in query
