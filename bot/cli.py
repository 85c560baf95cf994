"""The `opsbot` command."""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
from collections.abc import Sequence

from bot.config import (
    ConfigError,
    Settings,
    enabled_features,
    load_settings,
    require_slack,
)
from bot.core import logs


def _migrate_unless(no_migrate: bool, settings: Settings) -> None:
    """Start-up migrates, unless pods leave it to a migration job (`--no-migrate`)."""
    from bot.migrate import upgrade

    if not no_migrate:
        upgrade(settings.database_url)


def _log_start(settings: Settings, mode: str, where: str, port: int) -> None:
    """One line at start-up: what runs, where, on which store, doing what (as fields too, for
    `LOG_FORMAT=json`)."""
    from importlib.metadata import PackageNotFoundError, version

    from bot.core import tracing
    from bot.features import FEATURES

    try:
        release = version("opsbot")
    except PackageNotFoundError:
        release = "unknown"
    store = settings.database_url.split(":", 1)[0].split("+", 1)[0]
    features = [name.removeprefix("bot.") for name in FEATURES]
    metrics_port = settings.opsbot_metrics_port
    metrics = f"on port {metrics_port}" if metrics_port else f"on port {port} at /metrics"
    traces = "otlp" if tracing.wanted() else "off"
    logging.getLogger("opsbot").info(
        "opsbot %s starting: %s; store %s; features %s; metrics %s; traces %s",
        release, where, store, ", ".join(features), metrics, traces,
        extra={"version": release, "mode": mode, "port": port, "store": store,
               "features": features, "metrics_port": metrics_port or port, "traces": traces},
    )  # fmt: skip


def _serve(settings: Settings, host: str, port: int, workers: int, no_migrate: bool) -> None:
    import uvicorn

    from bot.app import build_runtime

    require_slack(settings)
    if workers > 1 and settings.opsbot_metrics_port:
        raise ConfigError(
            "setting OPSBOT_METRICS_PORT: cannot be shared by --workers processes; "
            "run one process per pod and scale with replicas"
        )
    _migrate_unless(no_migrate, settings)
    _log_start(settings, "http", f"http on {host}:{port}, {workers} worker process(es)", port)
    # uvicorn configures logging in each worker process from this: the same renderer there.
    log_config = logs.dict_config(settings.log_format, settings.log_level)
    if workers > 1:
        # Each worker process is a full replica: leases and claims keep the work single.
        uvicorn.run("bot.app:app_from_environment", factory=True, workers=workers, host=host,
                    port=port, log_level="warning", access_log=False,
                    log_config=log_config)  # fmt: skip
        return
    rt = build_runtime(settings)
    assert rt.web is not None
    uvicorn.run(
        rt.web, host=host, port=port, log_level="warning", access_log=False, log_config=log_config
    )


def _socket(settings: Settings, host: str, port: int, no_migrate: bool) -> None:
    from bot.socket_mode import run_socket_mode

    require_slack(settings, socket_mode=True)
    if not settings.slack_signing_secret:
        # Unsigned HTTP requests could claim to be anyone; Slack's traffic uses the websocket.
        logging.getLogger("opsbot").warning(
            "no SLACK_SIGNING_SECRET: POST /slack/events is not served over HTTP; "
            "Slack traffic arrives over Socket Mode, webhooks over HTTP"
        )
    _migrate_unless(no_migrate, settings)
    _log_start(settings, "socket", f"socket mode, webhooks on {host}:{port}", port)
    asyncio.run(run_socket_mode(settings, host, port))


def _db(settings: Settings, action: str, revision: str | None) -> int:
    from bot import migrate

    url = settings.database_url
    if action == "upgrade":
        migrate.upgrade(url, revision or "heads")
        print(f"database is at {migrate.current(url) or 'no revision'}")
    elif action == "downgrade":
        if not revision:
            hint = "e.g. -1, or one from `opsbot db history`"
            print(f"opsbot: db downgrade needs a revision ({hint})", file=sys.stderr)
            return 2
        migrate.downgrade(url, revision)
        print(f"database is at {migrate.current(url) or 'no revision'}")
    elif action == "current":
        print(migrate.current(url) or "no revision: the database is empty")
    else:
        print(migrate.history(url))
    return 0


def _jobs(settings: Settings, action: str, name: str | None) -> None:
    from bot.app import build_runtime

    rt = build_runtime(settings)
    if action == "list":
        for spec in rt.scheduler.jobs.values():
            print(f"{spec.name:32} {spec.schedule_text():40} {spec.description}")
        return
    if not name:
        raise ConfigError("usage: opsbot jobs run NAME (see `opsbot jobs list`)")
    if name not in rt.scheduler.jobs:
        known = ", ".join(sorted(rt.scheduler.jobs))
        raise ConfigError(f"no job named {name!r}; jobs: {known}")
    require_slack(settings)

    async def run() -> None:
        from bot.migrate import upgrade

        upgrade(settings.database_url)
        # Workers run so the job's effects (cards, DMs) are delivered before the command ends.
        await rt.start()
        try:
            await rt.scheduler.run_now(name)
            await rt.settle()
        finally:
            await rt.stop(grace=0)  # settle() already waited for the job's work

    asyncio.run(run())
    print(f"ran {name}")


def _check(settings: Settings) -> int:
    """Valid settings (else exit 2 before this), then what serving needs: Slack credentials
    and a database that answers. Each problem is one line on stderr; any of them exits 1."""
    print("configuration is valid")
    for line in enabled_features(settings):
        print(f"  {line}")
    problems = []
    if not settings.slack_bot_token and not settings.oauth_enabled:
        problems.append(
            "SLACK_BOT_TOKEN is not set, nor SLACK_CLIENT_ID and SLACK_CLIENT_SECRET for "
            "OAuth installs (`opsbot demo` runs without Slack)"
        )
    if not settings.slack_signing_secret and not settings.slack_app_token:
        problems.append(
            "SLACK_SIGNING_SECRET is not set: requests to /slack/events cannot be verified "
            "(Socket Mode needs SLACK_APP_TOKEN instead)"
        )
    if settings.oauth_enabled:
        at_rest = (
            "encrypted" if settings.opsbot_token_key else "NOT encrypted: set OPSBOT_TOKEN_KEY"
        )
        print(f"  Slack tokens at rest: {at_rest}")
    problems += _agent_isolation(settings)
    database = _probe_database(settings.database_url)
    if database.startswith("database does not answer"):
        problems.append(database)
    else:
        print(f"  {database}")
    for problem in problems:
        print(f"opsbot: {problem}", file=sys.stderr)
    return 1 if problems else 0


def _agent_isolation(settings: Settings) -> list[str]:
    """Command agents run in a sandbox: say which, and refuse to call a setup ready that
    would run them in none without being told to."""
    from bot.agents.backends import isolation
    from bot.agents.backends.command import reach_of
    from bot.agents.settings import SECTION as AGENTS

    agents = settings.section(AGENTS)
    if not any(backend.kind == "command" for backend in agents.backends):
        return []
    line = isolation.describe(agents.isolation, agents.podman_runtime)
    print(f"  {line}")
    for backend in agents.backends:
        if backend.kind == "command" and agents.isolation != "none":
            print(f"  agent {backend.name} may reach: {reach_of(backend, agents).describe()}")
    trouble = isolation.problem(agents.isolation, agents.podman_runtime)
    return [f"{line}; {trouble}"] if trouble else []


def _probe_database(url: str) -> str:
    from bot import migrate

    try:
        revision = migrate.current(url)
    except Exception as error:  # the reason's class only: a message may name the host
        return f"database does not answer ({type(error).__name__})"
    if not revision:
        return "database answers; not migrated yet (opsbot db upgrade)"
    return f"database answers, at revision {revision.split()[0]}"


def parser() -> argparse.ArgumentParser:
    root = argparse.ArgumentParser(prog="opsbot", description="Slack-native engineering ops bot")
    commands = root.add_subparsers(dest="command", required=True)
    for name, help_text in (("serve", "HTTP mode"), ("socket", "Socket Mode + webhook server")):
        sub = commands.add_parser(name, help=help_text)
        sub.add_argument("--host", default="0.0.0.0")
        sub.add_argument("--port", type=int, default=3000)
        sub.add_argument(
            "--no-migrate",
            action="store_true",
            help="do not migrate at start (a migration job does it)",
        )
    commands.choices["serve"].add_argument(
        "--workers", type=int, default=1, help="processes, each a full replica (default 1)"
    )
    db = commands.add_parser("db", help="database migrations")
    db.add_argument("action", choices=["upgrade", "downgrade", "current", "history"])
    db.add_argument("revision", nargs="?", help="target of upgrade (default: latest) or downgrade")
    tasks = commands.add_parser("tasks", help="durable tasks: see, retry or drop them")
    tasks.add_argument("action", choices=["list", "retry", "drop"])
    tasks.add_argument("id", nargs="?", type=int, help="the task (retry, drop)")
    tasks.add_argument("--dead", action="store_true", help="list only tasks that gave up")
    jobs = commands.add_parser("jobs", help="scheduled jobs")
    jobs.add_argument("action", choices=["list", "run"])
    jobs.add_argument("name", nargs="?")
    demo = commands.add_parser("demo", help="run the whole bot against the local Slack sandbox")
    demo.add_argument("--keep", action="store_true", help="keep the temporary database")
    commands.add_parser("check", help="validate configuration and print what is enabled")
    sandbox = commands.add_parser(
        "sandbox", help="run the local Slack stand-in and print the settings to point at it"
    )
    sandbox.add_argument("--host", default="127.0.0.1")
    sandbox.add_argument("--port", type=int, default=3001)
    sandbox.add_argument(
        "--rate-limits", action="store_true", help="enforce Slack's published rate limits"
    )
    commands.add_parser("config-docs", help="print the configuration reference (Markdown)")
    commands.add_parser("token-key", help="print a new key for OPSBOT_TOKEN_KEY")
    return root


def main(argv: Sequence[str] | None = None) -> int:
    args = parser().parse_args(argv)
    if args.command == "sandbox":
        from bot.sandbox_command import run_sandbox  # the only way in to bot/sandbox

        return asyncio.run(run_sandbox(args.host, args.port, args.rate_limits))
    if args.command == "config-docs":
        from bot.config_docs import main as config_docs

        return config_docs()
    if args.command == "token-key":
        from bot.core.token_cipher import new_key

        print(new_key())
        return 0
    try:
        settings = load_settings()
        logs.configure(settings.log_format, settings.log_level)
        if args.command == "serve":
            _serve(settings, args.host, args.port, args.workers, args.no_migrate)
        elif args.command == "socket":
            _socket(settings, args.host, args.port, args.no_migrate)
        elif args.command == "db":
            return _db(settings, args.action, args.revision)
        elif args.command == "tasks":
            from bot.core.task_admin import run_command

            return run_command(settings.database_url, args.action, args.id, dead=args.dead)
        elif args.command == "jobs":
            _jobs(settings, args.action, args.name)
        elif args.command == "check":
            return _check(settings)
        elif args.command == "demo":
            from bot.sandbox.demo import run_demo

            return asyncio.run(run_demo(keep=args.keep))
    except ConfigError as error:
        for line in error.lines:  # every problem, one line each
            print(f"opsbot: {line}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
