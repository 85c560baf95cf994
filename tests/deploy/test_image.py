"""The container image: lint-clean, built from what it needs only, run as the README says.

No Docker engine is needed: hadolint reads the Dockerfile, and Docker's own context rules (the
docker SDK's) tell what `.dockerignore` lets into the build.
"""

from __future__ import annotations

import json
import re
import shlex
from pathlib import Path

from docker.utils.build import exclude_paths

import bot
from bot.migrate import MIGRATIONS
from tests.deploy.tools import ROOT, run, tool

DOCKERFILE = ROOT / "Dockerfile"


def instructions() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) per instruction, continuation lines joined, comments dropped."""
    lines = [line for line in DOCKERFILE.read_text().splitlines() if not line.startswith("#")]
    joined = re.sub(r"\\\n\s*", " ", "\n".join(lines))
    found = []
    for line in joined.splitlines():
        if line.strip():
            word, _, rest = line.strip().partition(" ")
            found.append((word.upper(), rest.strip()))
    return found


def last(name: str) -> str:
    return [rest for word, rest in instructions() if word == name][-1]


def test_hadolint_finds_nothing() -> None:
    result = run(tool("hadolint"), "--failure-threshold", "style", "--format", "json", "Dockerfile")
    assert json.loads(result.stdout or "[]") == [], result.stdout
    assert result.returncode == 0, result.stderr


def test_hadolint_is_really_linting(tmp_path: Path) -> None:
    # The clean verdict above means something only if the same call reports a known mistake.
    bad = tmp_path / "Dockerfile"
    bad.write_text("FROM python:latest\nRUN pip install requests\n")
    result = run(tool("hadolint"), "--failure-threshold", "style", "--format", "json", str(bad))
    codes = {finding["code"] for finding in json.loads(result.stdout)}
    assert {"DL3007", "DL3013"} <= codes
    assert result.returncode == 1


def test_build_context_holds_the_sources_and_nothing_local() -> None:
    patterns = [
        line.strip()
        for line in (ROOT / ".dockerignore").read_text().splitlines()
        if line.strip() and not line.startswith("#")
    ]
    sent = exclude_paths(str(ROOT), patterns)
    copies = [rest for word, rest in instructions() if word == "COPY" and "--from" not in rest]
    copied = [rest.split()[0] for rest in copies]
    for source in {"pyproject.toml", "README.md", "bot", "migrations"} | set(copied):
        assert source in sent, f"COPY {source} would find nothing in the build context"
    assert "bot/cli.py" in sent and "migrations/env.py" in sent
    for out in (".venv", ".git", "tests", ".pytest_cache", ".mypy_cache", "opsbot.db", ".env"):
        assert not any(path == out or path.startswith(out + "/") for path in sent), out
    assert not any("__pycache__" in path for path in sent)


def test_two_stages_wheel_built_then_installed() -> None:
    stages = [rest for word, rest in instructions() if word == "FROM"]
    assert stages == ["${PYTHON_IMAGE} AS build", "${PYTHON_IMAGE}"]
    assert re.search(r"PYTHON_IMAGE=python:3\.11-slim", DOCKERFILE.read_text())
    runs = [rest for word, rest in instructions() if word == "RUN"]
    assert any("pip wheel" in command and "--wheel-dir /wheels" in command for command in runs)
    assert any("--mount=type=bind,from=build" in c and "--no-index" in c for c in runs)


def test_runs_opsbot_serve_as_a_numeric_non_root_user() -> None:
    user = last("USER").split(":")[0]
    assert user.isdigit() and int(user) != 0
    assert json.loads(last("ENTRYPOINT")) == ["opsbot"]
    assert json.loads(last("CMD")) == ["serve"]


def test_healthcheck_asks_livez_with_python() -> None:
    healthcheck = last("HEALTHCHECK")
    command = json.loads(healthcheck.split(" CMD ", 1)[1])
    assert command[0] == "python"
    assert "http://127.0.0.1:3000/livez" in command[-1]


def test_oci_labels() -> None:
    labels = dict(
        pair.split("=", 1) for rest in (r for w, r in instructions() if w == "LABEL")
        for pair in shlex.split(rest)
    )  # fmt: skip
    for key in ("title", "description", "version", "revision"):
        assert labels.get(f"org.opencontainers.image.{key}"), key


def test_writable_data_only_in_the_volume() -> None:
    assert json.loads(last("VOLUME")) == ["/data"]
    env = last("ENV")
    assert "DATABASE_URL=sqlite:////data/opsbot.db" in env
    assert "PYTHONDONTWRITEBYTECODE=1" in env and "MPLCONFIGDIR=/tmp/" in env


def test_migrations_land_where_bot_migrate_looks() -> None:
    # The wheel holds only the `bot` package; bot/migrate.py looks beside it for migrations/.
    python = re.search(r"python:(\d+\.\d+)", DOCKERFILE.read_text())
    assert python is not None
    site_packages = f"/opt/opsbot/lib/python{python.group(1)}/site-packages"
    beside_package = MIGRATIONS.relative_to(Path(bot.__file__).resolve().parent.parent)
    copies = [rest.split() for word, rest in instructions() if word == "COPY"]
    assert ["migrations", f"{site_packages}/{beside_package}"] in copies
    assert "VIRTUAL_ENV=/opt/opsbot" in last("ENV")
    assert any("opsbot db upgrade" in rest for word, rest in instructions() if word == "RUN")
