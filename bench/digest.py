"""The daily digest over a million stored messages, on SQLite: how long its queries take.

    python -m bench.digest [--messages 1000000] [--runs 5]

Fills a fresh SQLite database with channel activity spread over 30 days and 20 channels (the
digest's channel is the busiest: 40% of all messages), then times the digest's sections for one
day of that channel. The figures are checked against counts kept while generating the data. The
target is under one second; the exit code says whether it was met.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import random
import sqlite3
import statistics
import sys
import tempfile
import time
from pathlib import Path

from sqlalchemy import create_engine

from bot.core.db import make_engine, make_sessionmaker
from bot.digests.service.sections import Scope, compose
from bot.models import metadata

CHANNEL = "C0BUSY"
OTHERS = [f"C0OTHER{n:02d}" for n in range(19)]
PEOPLE = [f"U{n:05d}" for n in range(400)]
DAYS = 30
END = dt.datetime(2026, 3, 3, 8, 0, tzinfo=dt.UTC)
START = END - dt.timedelta(days=1)
UNANSWERED_AFTER = dt.timedelta(hours=4)
TARGET_SECONDS = 1.0


def _stamp(moment: dt.datetime) -> str:
    # SQLAlchemy's SQLite DATETIME storage format (naive UTC).
    return moment.astimezone(dt.UTC).strftime("%Y-%m-%d %H:%M:%S.%f")


class Generator:
    """Rows for activity_messages, and the hand count of the benchmarked day."""

    def __init__(self, total: int, seed: int = 7) -> None:
        self.total = total
        self.rng = random.Random(seed)
        self.expected = {"messages": 0, "people": set(), "questions": 0}
        self.parents: dict[str, list[tuple[str, str]]] = {}  # channel -> (ts, user)
        self.answered: set[tuple[str, str]] = set()
        self.asked: dict[tuple[str, str], tuple[str, dt.datetime]] = {}

    def rows(self) -> list[tuple[object, ...]]:
        base = END - dt.timedelta(days=DAYS)
        step = dt.timedelta(days=DAYS) / self.total
        rows = []
        for n in range(self.total):
            moment = base + step * n
            channel = CHANNEL if self.rng.random() < 0.4 else self.rng.choice(OTHERS)
            rows.append(self._row(channel, moment, n))
        return rows

    def _row(self, channel: str, moment: dt.datetime, n: int) -> tuple[object, ...]:
        ts = f"{moment.timestamp():.6f}"
        user = self.rng.choice(PEOPLE)
        parents = self.parents.setdefault(channel, [])
        thread_ts = None
        if parents and self.rng.random() < 0.35:
            thread_ts, asker = self.rng.choice(parents[-200:])
            if asker != user:
                self.answered.add((channel, thread_ts))
        question = thread_ts is None and self.rng.random() < 0.1
        if thread_ts is None:
            parents.append((ts, user))
            if question:
                self.asked[(channel, ts)] = (user, moment)
        if channel == CHANNEL and START <= moment < END:
            self.expected["messages"] += 1
            self.expected["people"].add(user)
        text = f"message {n}" + ("?" if question else "")
        return (channel, ts, thread_ts, user, _stamp(moment), question, text, False)

    def unanswered(self) -> int:
        since, until = START - UNANSWERED_AFTER, END - UNANSWERED_AFTER
        return sum(
            1
            for (channel, ts), (_, moment) in self.asked.items()
            if channel == CHANNEL and since <= moment < until and (channel, ts) not in self.answered
        )


def fill(path: Path, total: int) -> Generator:
    engine = create_engine(f"sqlite:///{path}")
    metadata.create_all(engine)
    engine.dispose()
    generator = Generator(total)
    rows = generator.rows()
    with sqlite3.connect(path) as connection:
        connection.executemany(
            "INSERT INTO activity_messages "
            "(channel, ts, thread_ts, user_id, posted_at, is_question, text, deleted) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            rows,
        )
        connection.execute("ANALYZE")
    return generator


async def measure(path: Path, runs: int) -> tuple[list[float], dict[str, object]]:
    engine = make_engine(f"sqlite+aiosqlite:///{path}")
    sessions = make_sessionmaker(engine)
    scope = Scope(CHANNEL, START, END, "Europe/Paris", UNANSWERED_AFTER.total_seconds() / 3600)
    timings, snapshot = [], {}
    for _ in range(runs):
        started = time.perf_counter()
        snapshot = await compose(sessions, scope)
        timings.append(time.perf_counter() - started)
    await engine.dispose()
    return timings, snapshot.get("activity") or {}


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.digest")
    parser.add_argument("--messages", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="opsbot-bench-") as directory:
        path = Path(directory) / "digest.db"
        started = time.perf_counter()
        generator = fill(path, args.messages)
        print(f"stored {args.messages:,} messages in {time.perf_counter() - started:.1f}s")
        timings, figures = asyncio.run(measure(path, args.runs))
    expected = (
        generator.expected["messages"],
        len(generator.expected["people"]),  # type: ignore[arg-type]
        generator.unanswered(),
    )
    found = (figures.get("messages"), figures.get("people"), figures.get("unanswered_total"))
    print(f"day of {CHANNEL}: messages, people, unanswered = {found} (expected {expected})")
    first, median, worst = timings[0], statistics.median(timings), max(timings)
    print(f"daily digest: first {first:.3f}s, median {median:.3f}s, max {worst:.3f}s")
    ok = found == expected and max(timings) < TARGET_SECONDS
    print("OK: under one second" if ok else "FAILED")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
