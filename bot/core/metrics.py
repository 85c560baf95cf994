"""Prometheus metrics, one registry per process so several bots can live in one test run."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.requests = Counter(
            "opsbot_http_requests_total",
            "HTTP requests by route and status",
            ["route", "status"],
            registry=self.registry,
        )
        self.latency = Histogram(
            "opsbot_http_request_seconds",
            "Time to answer an HTTP request",
            ["route"],
            buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 3),
            registry=self.registry,
        )
        self.tasks = Counter(
            "opsbot_tasks_total", "Durable tasks run", ["kind", "result"], registry=self.registry
        )
        self.projector = Counter(
            "opsbot_projector_syncs_total",
            "Slack views synced by the projector",
            ["kind", "result"],
            registry=self.registry,
        )
        self.slack_calls = Counter(
            "opsbot_slack_api_calls_total",
            "Web API calls made by the projector",
            ["method", "result"],
            registry=self.registry,
        )
        self.jobs = Counter(
            "opsbot_jobs_total", "Scheduled job firings", ["job", "result"], registry=self.registry
        )
        self.inbox_commits = Counter(
            "opsbot_inbox_commits_total",
            "Transactions that stored deliveries at the acknowledgement (deliveries arriving "
            "together share one)",
            ["source"],
            registry=self.registry,
        )
        self.dirty = Gauge(
            "opsbot_projector_dirty", "Views waiting to be synced", registry=self.registry
        )

    def render(self) -> bytes:
        return generate_latest(self.registry)
