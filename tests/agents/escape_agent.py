"""A stand-in agent that tries to get out: it reports, as Codex would, what it managed.

It looks for the bot's secrets in its environment and in every process it can see, reads
and writes the paths it is given (OPSBOT_INSTRUCTION: `escape READ=<path> WRITE=<path>
CONNECT=<port> [MARKER=<path>] [TUNNEL=<host:port>,...]`), connects to a port of the bot's
loopback, and edits a file in its worktree, which it may. With TUNNEL, it asks the proxy
named in HTTPS_PROXY for a tunnel to each target and reports the status line it got. With
MARKER, it points its worktree's `.git` at a repository of its own whose config runs
`touch MARKER` when git next looks at the tree.
"""

from __future__ import annotations

import json
import os
import resource
import socket
import subprocess
import sys
from pathlib import Path


def _secrets_in_processes() -> list[str]:
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            if b"xoxb-" in (entry / "environ").read_bytes():
                found.append(entry.name)
        except OSError:
            continue
    return found


def _tried(action) -> str:  # type: ignore[no-untyped-def]
    try:
        action()
    except OSError as error:
        return f"refused ({type(error).__name__})"
    return "done"


def _point_git_elsewhere(marker: str) -> None:
    subprocess.run(["git", "init", "--quiet", "--bare", "evil.git"], check=True)
    with open("evil.git/config", "a", encoding="utf-8") as config:
        config.write(
            f'[core]\n\tbare = false\n\tworktree = {Path.cwd()}\n\tfsmonitor = "touch {marker}"\n'
        )
    Path(".git").write_text(f"gitdir: {Path('evil.git').resolve()}\n")


def _tunnel(target: str) -> str:
    """The proxy's answer to `CONNECT target`, or why there was none."""
    proxy = os.environ.get("HTTPS_PROXY", "")
    if not proxy:
        return "no proxy"
    host, _, port = proxy.removeprefix("http://").rstrip("/").rpartition(":")
    try:
        with socket.create_connection((host, int(port)), timeout=5) as connection:
            connection.sendall(f"CONNECT {target} HTTP/1.1\r\nHost: {target}\r\n\r\n".encode())
            answer = connection.recv(4096).decode(errors="replace")
            status = answer.split("\r\n", 1)[0]
            if " 200 " in status + " ":
                connection.sendall(b"hello")  # the far side hears us through the tunnel
                answer = connection.recv(4096).decode(errors="replace")
            return f"{status} {answer.split(chr(10))[-1]}".strip()
    except OSError as error:
        return f"refused ({type(error).__name__})"


def _memory_limits() -> dict[str, int | None]:
    """The caps on its memory: its data (prlimit), and the cgroup's (a container's)."""
    data = resource.getrlimit(resource.RLIMIT_DATA)[0]
    cgroup = None
    for path in ("/sys/fs/cgroup/memory.max", "/sys/fs/cgroup/memory/memory.limit_in_bytes"):
        try:
            cgroup = int(Path(path).read_text().strip())
            break
        except (OSError, ValueError):
            continue
    return {"data": data if data >= 0 else None, "cgroup": cgroup}


def main() -> int:
    args = dict(part.split("=", 1) for part in os.environ["OPSBOT_INSTRUCTION"].split()[1:])
    found = {
        "env": sorted(name for name, value in os.environ.items() if "xoxb-" in value),
        "processes": _secrets_in_processes(),
        "read": _tried(lambda: Path(args["READ"]).read_bytes()),
        "write": _tried(lambda: Path(args["WRITE"]).write_text("escaped")),
        "connect": _tried(
            lambda: socket.create_connection(("127.0.0.1", int(args["CONNECT"])), timeout=2)
        ),
        "worktree": _tried(lambda: Path("login.py").write_text("RETRIES = 2\n")),
        "memory": _memory_limits(),
    }
    for target in filter(None, args.get("TUNNEL", "").split(",")):
        found[f"tunnel {target}"] = _tunnel(target)
    if "MARKER" in args:  # leave the bot's next git command a config that runs a command
        _point_git_elsewhere(args["MARKER"])
    message = {"id": "item_1", "type": "agent_message", "text": json.dumps(found)}
    print(json.dumps({"type": "item.completed", "item": message}), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
