"""Each command agent runs in a sandbox of its own: bubblewrap (or podman, when
`agents.isolation: podman`; see `containers.py`), under resource limits.

An agent reads untrusted text (a Slack thread, a CI log) and runs what it decides to, so it
must not reach what the bot can. Inside the sandbox:

- the file system is the system's programs and libraries, read-only, plus the paths named in
  `agents.read_only_paths` (where the tools are installed); the bot's files, its database, its
  configuration and mounted secrets are not there at all;
- the attempt's worktree is the only writable place, with a private /tmp and home;
- git's files are read-only (the worktree's index and HEAD, the repository's objects, refs,
  config and hooks): the agent can read history and diff, and the bot commits what it changed;
- there are no other processes to see (a PID namespace), so no /proc/<bot>/environ;
- the network is cut off unless the backend needs it (a preset's model API, or
  `network: true`). An agent with `hosts` (a preset's model API, or the entry's own) still
  has no network of its own: it reaches those hosts, and only those, through the bot's egress
  proxy (`egress.py`). One without hosts, or with `agents.egress: open`, shares the bot's;
- the environment is the one the backend builds (`command.agent_environment`);
- `prlimit` caps its data (`agents.memory_mb`: private writable memory, RLIMIT_DATA) and CPU
  time (`agents.cpu_seconds`). Not its address space: V8 reserves 10 GiB of it, unwritable,
  for each WebAssembly memory, so Node-based tools could not start under a useful cap;
  the wall-clock limit is the attempt's timeout.

Without bubblewrap a command agent is refused, unless `agents.isolation: none` says to run
agents unisolated (`opsbot check` tells which). podman is used only when named.
"""

from __future__ import annotations

import functools
import os
import shutil
import subprocess
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Literal

from bot.agents.backends import containers
from bot.agents.backends.egress import INSIDE, Egress

SYSTEM_PATHS = ("/usr", "/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32", "/opt")
# Of /etc, only what programs need to run, resolve names and trust certificates: the rest may
# hold the deployment's configuration and secrets.
ETC_PATHS = (
    "/etc/alternatives",
    "/etc/ca-certificates",
    "/etc/gitconfig",
    "/etc/group",
    "/etc/host.conf",
    "/etc/hosts",
    "/etc/ld.so.cache",
    "/etc/ld.so.conf",
    "/etc/ld.so.conf.d",
    "/etc/localtime",
    "/etc/nsswitch.conf",
    "/etc/passwd",
    "/etc/pki",
    "/etc/resolv.conf",
    "/etc/ssl",
)
HOME = "/tmp/home"


class IsolationUnavailable(Exception):
    """No way to isolate an agent here, and running one unisolated was not allowed."""


@dataclass(frozen=True)
class Limits:
    memory_mb: int
    cpu_seconds: int


@dataclass(frozen=True)
class Place:
    """Where one attempt runs: its worktree and the repository's git directories."""

    tree: Path
    git_dir: Path  # the worktree's own (index, HEAD)
    common_dir: Path  # objects, refs, config and hooks shared by every worktree


@functools.cache
def bubblewrap() -> str | None:
    """bwrap's path when it can make a sandbox here (a container may forbid namespaces)."""
    path = shutil.which("bwrap")
    if path is None:
        return None
    probe = [path, "--ro-bind", "/", "/", "--unshare-all", "--die-with-parent", "true"]
    try:
        subprocess.run(probe, check=True, capture_output=True, timeout=10)
    except (OSError, subprocess.SubprocessError):
        return None
    return path


@dataclass(frozen=True)
class Tool:
    """The sandbox an agent runs in."""

    kind: Literal["bubblewrap", "podman"]
    path: str
    runtime: str | None = None  # podman's OCI runtime (`agents.podman_runtime`)


def choose(mode: str, runtime: str | None = None) -> Tool | None:
    """The sandbox for `agents.isolation`, or None to run unisolated."""
    if mode == "none":
        return None
    if mode == "podman":
        podman = containers.podman(runtime)
        if podman is None:
            raise IsolationUnavailable(
                "agents.isolation is podman, and podman cannot run a container here: install "
                "it, or name an OCI runtime that runs on this host (agents.podman_runtime)"
            )
        return Tool("podman", podman, runtime)
    tool = bubblewrap()
    if tool is None:
        raise IsolationUnavailable(
            "command agents run isolated, and bubblewrap cannot make a sandbox here: install "
            "it (the `bubblewrap` package), or set agents.isolation: none to run agents "
            "with the bot's own access to this machine"
        )
    return Tool("bubblewrap", tool)


def describe(mode: str, runtime: str | None = None) -> str:
    """One line for `opsbot check`."""
    if mode == "none":
        return "agent isolation: none (agents.isolation: none): command agents run unisolated"
    try:
        tool = choose(mode, runtime)
    except IsolationUnavailable:
        unavailable = f"unavailable ({_named(mode)} cannot run here)"
        return f"agent isolation: {unavailable}: command agents refused"
    assert tool is not None
    return f"agent isolation: {tool.kind} ({tool.path})"


def problem(mode: str, runtime: str | None = None) -> str | None:
    """What keeps command agents from running here, and what to do about it; None if nothing."""
    try:
        choose(mode, runtime)
    except IsolationUnavailable:
        return f"install {_named(mode)}, or set agents.isolation: none"
    return None


def _named(mode: str) -> str:
    return "podman" if mode == "podman" else "bubblewrap"


def _mounts(paths: tuple[str, ...] | list[str], flag: str = "--ro-bind") -> list[str]:
    args: list[str] = []
    for path in paths:
        if os.path.islink(path):  # /bin -> usr/bin on merged-/usr systems
            args += ["--symlink", os.readlink(path), path]
        elif os.path.exists(path):
            args += [flag, path, path]
    return args


@dataclass(frozen=True)
class Launch:
    """What to start for one attempt: its command line and the environment to start it in."""

    argv: list[str]
    env: dict[str, str]


@dataclass(frozen=True)
class Confinement:
    """Where one attempt runs and what it may use."""

    place: Place
    network: bool  # the whole network (without `egress`)
    read_only: tuple[str, ...]  # more paths it may read
    limits: Limits
    egress: Egress | None = None  # the proxy that is its only way out

    def applied(self, argv: list[str]) -> tuple[list[str], Confinement]:
        """With an egress proxy, the relay starts `argv` and the network is the proxy's
        socket alone: the command line and the confinement as the sandbox runs them."""
        if self.egress is None:
            return argv, self
        more = (*self.read_only, *self.egress.read_only_paths())
        return self.egress.relay_argv(argv), replace(self, network=False, read_only=more)


@asynccontextmanager
async def sandboxed(
    argv: list[str], env: Mapping[str, str], tool: Tool, confinement: Confinement
) -> AsyncIterator[Launch]:
    """`argv` and `env` as started in `tool`'s sandbox; what the sandbox left is removed after."""
    argv, confinement = confinement.applied(argv)
    if tool.kind == "bubblewrap":
        yield Launch(wrap(argv, tool.path, confinement), {**env, "HOME": HOME})
        return
    launch, root, name = _in_podman(argv, env, tool, confinement)
    try:
        yield launch
    finally:
        await containers.remove(tool.path, name)
        shutil.rmtree(root, ignore_errors=True)


def _in_podman(
    argv: list[str], env: Mapping[str, str], tool: Tool, confinement: Confinement
) -> tuple[Launch, Path, str]:
    """The container's command line and environment, its root and its name."""
    place, egress, limits = confinement.place, confinement.egress, confinement.limits
    root = containers.skeleton(path for path in SYSTEM_PATHS if os.path.islink(path))
    name = containers.container_name(place.tree.name)
    read = [*ETC_PATHS, *confinement.read_only]
    binds = [
        *((path, path, False) for path in SYSTEM_PATHS if _real(path)),
        *((os.path.realpath(path), path, False) for path in read if os.path.exists(path)),
        *([(str(egress.directory), INSIDE, False)] if egress is not None else []),
        (str(place.common_dir), str(place.common_dir), False),
        (str(place.git_dir), str(place.git_dir), False),
        (str(place.tree), str(place.tree), True),
    ]
    argv = containers.run_argv(
        tool.path,
        runtime=tool.runtime,
        name=name,
        root=root,
        binds=binds,
        env_names=[key for key in env if key != "HOME"],
        home=HOME,
        network="host" if confinement.network else "none",
        memory_mb=limits.memory_mb,
        cpu_seconds=limits.cpu_seconds,
        workdir=str(place.tree),
        argv=argv,
    )
    # podman itself runs with the bot's environment (its storage, its runtime directory);
    # the container gets the variables named, with the agent's values.
    own = {key: value for key, value in env.items() if key != "HOME"}
    return Launch(argv, {**os.environ, **own}), root, name


def _real(path: str) -> bool:
    """A directory of the host's own (not a link, which the container's root has already)."""
    return os.path.exists(path) and not os.path.islink(path)


def wrap(argv: list[str], tool: str, confinement: Confinement) -> list[str]:
    """`argv` as run inside bubblewrap, under the limits (`Confinement.applied` first)."""
    prlimit = shutil.which("prlimit") or "prlimit"
    place, egress, limits = confinement.place, confinement.egress, confinement.limits
    tree, git_dir, common = str(place.tree), str(place.git_dir), str(place.common_dir)
    proxy = ["--ro-bind", str(egress.directory), INSIDE] if egress is not None else []
    return [
        prlimit,
        f"--data={limits.memory_mb * 1024 * 1024}",
        f"--cpu={limits.cpu_seconds}",
        "--",
        tool,
        "--die-with-parent",
        "--new-session",
        "--unshare-all",
        *(["--share-net"] if confinement.network else []),
        # The private /tmp first: a path bound below it (a tool, the worktree) stays visible.
        "--tmpfs",
        "/tmp",
        "--dir",
        HOME,
        "--proc",
        "/proc",
        "--dev",
        "/dev",
        *_mounts(SYSTEM_PATHS),
        *_mounts(ETC_PATHS),
        *_mounts(confinement.read_only),
        *proxy,
        "--ro-bind",
        common,
        common,
        "--ro-bind",
        git_dir,
        git_dir,
        "--bind",
        tree,
        tree,
        "--chdir",
        tree,
        "--",
        *argv,
    ]
