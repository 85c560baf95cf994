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
    args = parser.parse_args()
    if args.name == "ack":
        from bench.ack import run

        run([int(r) for r in args.rates.split(",")], args.seconds, args.db.split(","))
    return 0


if __name__ == "__main__":
    sys.exit(main())
