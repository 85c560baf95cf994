"""The `opsbot` command."""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
from collections.abc import Sequence

from bot.config import ConfigError, Settings, enabled_features, load_settings, require_slack


def _serve(settings: Settings, host: str, port: int, workers: int) -> None:
    import uvicorn

    from bot.app import build_runtime
    from bot.migrate import upgrade

    require_slack(settings)
    upgrade(settings.database_url)
    if workers > 1:
        # Each worker process is a full replica: leases and claims keep the work single.
        uvicorn.run("bot.app:app_from_environment", factory=True, workers=workers, host=host,
                    port=port, log_level="warning", access_log=False)  # fmt: skip
        return
    rt = build_runtime(settings)
    assert rt.web is not None
    uvicorn.run(rt.web, host=host, port=port, log_level="warning", access_log=False)


def _socket(settings: Settings, host: str, port: int) -> None:
    from bot.migrate import upgrade
    from bot.socket_mode import run_socket_mode

    require_slack(settings, socket_mode=True)
    if not settings.slack_signing_secret:
        # Unsigned HTTP requests could claim to be anyone; Slack's traffic uses the websocket.
        logging.getLogger("opsbot").warning(
            "no SLACK_SIGNING_SECRET: POST /slack/events is not served over HTTP; "
            "Slack traffic arrives over Socket Mode, webhooks over HTTP"
        )
    upgrade(settings.database_url)
    asyncio.run(run_socket_mode(settings, host, port))


def _db(settings: Settings, action: str) -> None:
    from bot.migrate import upgrade

    if action == "upgrade":
        upgrade(settings.database_url)
        print("database is at the latest revision")


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
            await rt.stop()

    asyncio.run(run())
    print(f"ran {name}")


def _check(settings: Settings) -> None:
    print("configuration is valid")
    for line in enabled_features(settings):
        print(f"  {line}")
    if not settings.slack_bot_token:
        print("  slack: no SLACK_BOT_TOKEN; `opsbot demo` runs against the local sandbox")


def parser() -> argparse.ArgumentParser:
    root = argparse.ArgumentParser(prog="opsbot", description="Slack-native engineering ops bot")
    commands = root.add_subparsers(dest="command", required=True)
    for name, help_text in (("serve", "HTTP mode"), ("socket", "Socket Mode + webhook server")):
        sub = commands.add_parser(name, help=help_text)
        sub.add_argument("--host", default="0.0.0.0")
        sub.add_argument("--port", type=int, default=3000)
    commands.choices["serve"].add_argument(
        "--workers", type=int, default=1, help="processes, each a full replica (default 1)"
    )
    db = commands.add_parser("db", help="database migrations")
    db.add_argument("action", choices=["upgrade"])
    jobs = commands.add_parser("jobs", help="scheduled jobs")
    jobs.add_argument("action", choices=["list", "run"])
    jobs.add_argument("name", nargs="?")
    demo = commands.add_parser("demo", help="run the whole bot against the local Slack sandbox")
    demo.add_argument("--keep", action="store_true", help="keep the temporary database")
    commands.add_parser("check", help="validate configuration and print what is enabled")
    return root


def main(argv: Sequence[str] | None = None) -> int:
    args = parser().parse_args(argv)
    try:
        settings = load_settings()
        logging.basicConfig(
            level=settings.log_level.upper(), format="%(levelname)s %(name)s: %(message)s"
        )
        for noisy in ("alembic", "apscheduler"):
            logging.getLogger(noisy).setLevel(logging.WARNING)
        if args.command == "serve":
            _serve(settings, args.host, args.port, args.workers)
        elif args.command == "socket":
            _socket(settings, args.host, args.port)
        elif args.command == "db":
            _db(settings, args.action)
        elif args.command == "jobs":
            _jobs(settings, args.action, args.name)
        elif args.command == "check":
            _check(settings)
        elif args.command == "demo":
            from bot.sandbox.demo import run_demo

            return asyncio.run(run_demo(keep=args.keep))
    except ConfigError as error:
        print(f"opsbot: {error}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
