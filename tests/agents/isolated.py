"""Settings that run command agents under bubblewrap, as a deployment does.

In CI bubblewrap is installed (`.ci/run`) and required; elsewhere, without it, agents run
unisolated so the rest of a test still says something."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any

import pytest

from bot.agents.backends import containers
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


def podman_runtime() -> str | None:
    """The OCI runtime podman can run containers with here: its own, else runc (crun refuses
    a host whose cgroups are v1 and v2 at once). Fails in CI, skips elsewhere, without one."""
    for runtime in (None, "runc"):
        if containers.podman(runtime) is not None:
            return runtime
    if IN_CI:
        pytest.fail("podman cannot run a container on this CI machine")
    pytest.skip("podman cannot run a container here")


def sandbox(tool: str) -> dict[str, Any]:
    """Settings that run command agents in `tool` (bubblewrap or podman), which must work."""
    if tool == "podman":
        return {"isolation": "podman", "podman_runtime": podman_runtime(), "read_only_paths": TOOLS}
    require_bubblewrap()
    return {"isolation": "bubblewrap", "read_only_paths": TOOLS}
