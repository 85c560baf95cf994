"""`python -m bench NAME [options]`: run one benchmark and print its figures."""

from __future__ import annotations

import argparse
import sys


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m bench")
    commands = parser.add_subparsers(dest="name", required=True)
    ack = commands.add_parser("ack", help="acknowledgement latency under load")
    ack.add_argument("--rates", default="50,200,500")
    ack.add_argument("--seconds", type=float, default=30.0)
    ack.add_argument("--db", default="sqlite,postgresql")
    ack.add_argument("--workers", type=int, default=1, help="opsbot serve --workers")
    projector = commands.add_parser("projector", help="the projector against Slack's limits")
    projector.add_argument("--tasks", type=int, default=100)
    projector.add_argument("--rate", type=float, default=5.0)
    projector.add_argument("--seconds", type=float, default=60.0)
    projector.add_argument("--channels", type=int, default=10)
    projector.add_argument(
        "--existing", type=int, default=0, help="older cards, up to date, in the table first"
    )
    projector.add_argument(
        "--replicas", type=int, default=0, help="one, then N opsbot serve on one PostgreSQL"
    )
    projector.add_argument(
        "--unshared-too", action="store_true", help="with --replicas: also N pacing alone"
    )
    ingest = commands.add_parser("ingest", help="events and webhooks stored per second")
    ingest.add_argument("--count", type=int, default=2000)
    ingest.add_argument("--db", default="sqlite,postgresql")
    ingest.add_argument("--workers", default="1,2", help="opsbot serve --workers, each in turn")
    due = commands.add_parser("due", help="the projector's due query with many cards")
    due.add_argument("--cards", type=int, default=100_000)
    due.add_argument("--dirty", type=int, default=1_000)
    due.add_argument("--db", default="sqlite,postgresql")
    workspace_filter = commands.add_parser("filter", help="the workspace filter per statement")
    workspace_filter.add_argument("--statements", type=int, default=2000)
    workspace_filter.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    if args.name == "ack":
        from bench.ack import run

        run([int(r) for r in args.rates.split(",")], args.seconds, args.db.split(","), args.workers)
    elif args.name == "projector":
        import asyncio

        from bench.projector import run as run_projector
        from bench.projector import run_processes

        if args.replicas:
            lines = asyncio.run(run_processes(args.replicas, args.unshared_too, args.tasks,
                                              args.rate, args.seconds, args.channels))  # fmt: skip
        else:
            lines = asyncio.run(
                run_projector(args.tasks, args.rate, args.seconds, args.channels, args.existing)
            )
        print("\n".join(lines))
    elif args.name == "due":
        from bench.due_query import run as run_due

        print("\n".join(run_due(args.cards, args.dirty, args.db.split(","))))
    elif args.name == "filter":
        from bench.workspace_filter import run as run_filter

        print("\n".join(run_filter(args.statements, args.rounds)))
    elif args.name == "ingest":
        from bench.ingest import run as run_ingest

        run_ingest(args.count, args.db.split(","), [int(w) for w in args.workers.split(",")])
    return 0


if __name__ == "__main__":
    sys.exit(main())
