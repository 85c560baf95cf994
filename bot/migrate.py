"""Alembic migrations from code: `opsbot db ...`, and serve/socket at start unless told not to."""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import io
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy.engine import make_url

from bot.core.db import normalize_url

MIGRATIONS = Path(__file__).resolve().parent.parent / "migrations"


def alembic_config(database_url: str, output: io.StringIO | None = None) -> Config:
    config = Config(stdout=output) if output is not None else Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.set_main_option("sqlalchemy.url", normalize_url(database_url).replace("%", "%%"))
    return config


def upgrade(database_url: str, revision: str = "heads") -> None:
    """Migrate to `revision` (every branch head by default); safe inside a running loop, and
    when several processes run it at once: they take turns (a PostgreSQL advisory lock in
    env.py; for a SQLite file, a lock file beside it), and the later ones find it done."""
    with _sqlite_file_lock(database_url):
        _in_own_thread(lambda: command.upgrade(alembic_config(database_url), revision))


def downgrade(database_url: str, revision: str) -> None:
    with _sqlite_file_lock(database_url):
        _in_own_thread(lambda: command.downgrade(alembic_config(database_url), revision))


@contextlib.contextmanager
def _sqlite_file_lock(database_url: str) -> Iterator[None]:
    url = make_url(normalize_url(database_url))
    if not url.drivername.startswith("sqlite") or url.database in (None, "", ":memory:"):
        yield
        return
    with open(f"{url.database}.migrate-lock", "a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def current(database_url: str) -> str:
    """The revision the database is at, as Alembic prints it ('' for an empty database)."""
    output = io.StringIO()
    _in_own_thread(lambda: command.current(alembic_config(database_url, output)))
    return output.getvalue().strip()


def history(database_url: str) -> str:
    output = io.StringIO()
    _in_own_thread(
        lambda: command.history(alembic_config(database_url, output), indicate_current=True)
    )
    return output.getvalue().rstrip()


def _in_own_thread(run: Callable[[], None]) -> None:
    """env.py runs its own event loop, which cannot nest in a running one: use a thread then."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        run()
        return
    errors: list[BaseException] = []

    def guarded() -> None:
        try:
            run()
        except BaseException as error:  # re-raised in the caller's thread
            errors.append(error)

    thread = threading.Thread(target=guarded)
    thread.start()
    thread.join()
    if errors:
        raise errors[0]
