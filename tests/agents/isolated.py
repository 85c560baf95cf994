"""Settings that run command agents under bubblewrap, as a deployment does.

In CI bubblewrap is installed (`.ci/run`) and required; elsewhere, without it, agents run
unisolated so the rest of a test still says something."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any

import pytest

from bot.agents.backends.isolation import bubblewrap

IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")
# What a stand-in agent (a Python script of the test suite) needs to read: the interpreter,
# the virtual environment and the script.
TOOLS = [sys.base_prefix, sys.prefix, str(Path(__file__).parent)]


def isolation() -> dict[str, Any]:
    if bubblewrap() is not None:
        return {"isolation": "bubblewrap", "read_only_paths": TOOLS}
    if IN_CI:
        pytest.fail("bubblewrap cannot make a sandbox on this CI machine")
    return {"isolation": "none"}


def require_bubblewrap() -> None:
    if bubblewrap() is None:
        if IN_CI:
            pytest.fail("bubblewrap cannot make a sandbox on this CI machine")
        pytest.skip("bubblewrap is not installed here")
