"""A throwaway PostgreSQL cluster for the test session (PostgreSQL refuses to run as root)."""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import subprocess
import tempfile
from pathlib import Path

PG_BIN_DIRS = sorted(Path("/usr/lib/postgresql").glob("*/bin"), reverse=True)


def find_pg_bin(name: str) -> str | None:
    for directory in PG_BIN_DIRS:
        if (directory / name).exists():
            return str(directory / name)
    return shutil.which(name)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class ThrowawayPostgres:
    def __init__(self) -> None:
        self.directory = Path(tempfile.mkdtemp(prefix="opsbot-pg-"))
        self.port = _free_port()
        self.as_root = os.geteuid() == 0
        self.url = ""

    def _run(self, *command: str) -> None:
        if self.as_root:
            command = ("runuser", "-u", "postgres", "--", *command)
        subprocess.run(command, check=True, capture_output=True, timeout=120)

    def start(self) -> str:
        initdb, pg_ctl = find_pg_bin("initdb"), find_pg_bin("pg_ctl")
        if not initdb or not pg_ctl:
            raise FileNotFoundError("initdb/pg_ctl not found")
        data = self.directory / "data"
        if self.as_root:
            shutil.chown(self.directory, "postgres", "postgres")
        self._run(initdb, "-D", str(data), "-U", "postgres", "--auth=trust", "-E", "UTF8")
        options = (
            f"-p {self.port} -k {self.directory} -c listen_addresses=127.0.0.1 "
            "-c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=300"
        )
        self._run(
            pg_ctl, "-D", str(data), "-o", options, "-l", str(self.directory / "log"), "-w", "start"
        )
        return f"postgresql+asyncpg://postgres@127.0.0.1:{self.port}/postgres"

    def restart(self) -> None:
        """A fast restart: every connection is dropped, the data stays."""
        pg_ctl = find_pg_bin("pg_ctl")
        assert pg_ctl
        # -l again: otherwise the new server inherits our output pipe and the call never returns.
        log = str(self.directory / "log")
        self._run(pg_ctl, "-D", str(self.directory / "data"), "-l", log, "-m", "fast", "-w",
                  "restart")  # fmt: skip

    def stop(self) -> None:
        pg_ctl = find_pg_bin("pg_ctl")
        if pg_ctl:
            with contextlib.suppress(subprocess.CalledProcessError):
                self._run(pg_ctl, "-D", str(self.directory / "data"), "-m", "immediate", "stop")
        shutil.rmtree(self.directory, ignore_errors=True)
