"""podman as an agent's sandbox (`agents.isolation: podman`): the same world as bubblewrap's,
in a container under cgroup limits.

No image is pulled: the container's root is an empty directory of its own (`--rootfs`), into
which the system's programs and libraries, the chosen files of /etc, `read_only_paths`, git's
directories and the worktree are bound, as bubblewrap binds them. What podman adds:

- memory is a cgroup limit (`--memory`, swap included), processes are counted (`--pids-limit`);
- no capabilities (`--cap-drop all`) and no privilege gained by running a program;
- the environment is only the variables named (`--unsetenv-all`, `--env NAME`): values stay
  in podman's own environment, never in its arguments, where `ps` would show an API key;
- the container is named and removed when the attempt ends, however the attempt ended
  (podman's client dying does not stop a container: its monitor runs apart). A container
  whose bot process was killed is not swept: it could be another live process's.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import os
import shutil
import subprocess
import tempfile
import uuid
from collections.abc import Iterable
from pathlib import Path

ROOT_DIRS = ("usr", "etc", "tmp", "proc", "sys", "dev", "run", "root")
# podman's default open-file and process limits are above what an unprivileged manager may
# set: these fit under usual hard limits, and `--pids-limit` is the cap that counts.
ULIMITS = ("--ulimit", "nofile=8192:8192", "--ulimit", "nproc=4096:4096")
PIDS = 1024


def skeleton(links: Iterable[str] = ()) -> Path:
    """An empty root for one container: its mount points, and each of `links` (/bin, /lib on
    a merged-/usr system) a link as on the host."""
    root = Path(tempfile.mkdtemp(prefix="opsbot-rootfs-"))
    for name in ROOT_DIRS:
        (root / name).mkdir()
    for path in links:
        (root / path.lstrip("/")).symlink_to(os.readlink(path))
    return root


def common_args(runtime: str | None) -> list[str]:
    """What every container of ours is run with, whatever it runs."""
    user = ["--user", "0:0"] if os.geteuid() == 0 else ["--userns", "keep-id"]
    return [
        *(["--runtime", runtime] if runtime else []),
        "--rm",
        "--read-only",
        "--read-only-tmpfs=false",
        "--cap-drop",
        "all",
        "--security-opt",
        "no-new-privileges",
        *user,
        *ULIMITS,
        "--unsetenv-all",
    ]


@functools.cache
def podman(runtime: str | None = None) -> str | None:
    """podman's path when it can run a container here (a host may lack cgroups or runtime)."""
    path = shutil.which("podman")
    if path is None:
        return None
    root = skeleton(path for path in ("/bin", "/lib", "/lib64") if os.path.islink(path))
    probe = [path, "run", *common_args(runtime), "--network", "none"]
    probe += ["-v", "/usr:/usr:ro", "--rootfs", str(root), "/usr/bin/true"]
    try:
        subprocess.run(probe, check=True, capture_output=True, timeout=60)
    except (OSError, subprocess.SubprocessError):
        return None
    finally:
        shutil.rmtree(root, ignore_errors=True)
    return path


def run_argv(
    tool: str,
    *,
    runtime: str | None,
    name: str,
    root: Path,
    binds: Iterable[tuple[str, str, bool]],
    env_names: Iterable[str],
    home: str,
    network: str,
    memory_mb: int,
    cpu_seconds: int,
    workdir: str,
    argv: list[str],
) -> list[str]:
    """`podman run` of `argv`. `binds` are (host path, container path, writable). The
    variables of `env_names` take their values from podman's own environment; `home` is the
    home directory, on a private tmpfs like /tmp."""
    mounts: list[str] = []
    for source, target, writable in binds:
        mounts += ["-v", f"{source}:{target}:{'rw' if writable else 'ro'}"]
    return [
        tool,
        "run",
        *common_args(runtime),
        "--name",
        name,
        "--init",  # reaps what the agent's children leave, and passes SIGTERM on
        "-i",
        "--network",
        network,
        "--memory",
        f"{memory_mb}m",
        "--memory-swap",
        f"{memory_mb}m",
        "--pids-limit",
        str(PIDS),
        "--ulimit",
        f"cpu={cpu_seconds}:{cpu_seconds}",
        "--tmpfs",
        "/tmp",
        "--tmpfs",
        home,
        "--env",
        f"HOME={home}",
        *[part for key in sorted(env_names) for part in ("--env", key)],
        *mounts,
        "--workdir",
        workdir,
        "--rootfs",  # its argument is the root; everything after it is the command
        str(root),
        *argv,
    ]


def container_name(branch: str) -> str:
    safe = "".join(c if c.isalnum() or c in "_.-" else "-" for c in branch)
    return f"opsbot-{safe}-{uuid.uuid4().hex[:8]}"


async def remove(tool: str, name: str) -> None:
    """Stop and remove the container, if it is still there."""
    with contextlib.suppress(OSError):
        process = await asyncio.create_subprocess_exec(
            tool,
            "rm",
            "--force",
            "--time",
            "0",
            "--ignore",
            name,
            stdout=asyncio.subprocess.DEVNULL,
            stderr=asyncio.subprocess.DEVNULL,
        )
        await process.wait()
