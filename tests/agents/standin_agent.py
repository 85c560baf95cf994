"""A stand-in for a coding-agent CLI (codex, claude, aider, openhands, gemini, opencode).

Installed on PATH under the tool's name by `tests.agents.presets` (a wrapper that runs
`standin_agent.py TOOL LOG_DIR ARGS...`). It writes down how it was started (its arguments,
the names in its environment, its stdin and working directory), edits `login.py` in its
working directory the way an agent would, and prints the tool's own output recorded in
`streams/` (see streams/SOURCES.md).
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

STREAMS = Path(__file__).with_name("streams")


def main() -> int:
    tool, log_dir, *args = sys.argv[1:]
    stdin = "" if sys.stdin is None or sys.stdin.isatty() else sys.stdin.read()
    record = {
        "tool": tool,
        "args": args,
        "env": sorted(os.environ),
        "keys": {name: os.environ[name] for name in os.environ if name.endswith("_API_KEY")},
        "stdin": stdin,
        "cwd": os.getcwd(),
    }
    with open(Path(log_dir) / "calls.jsonl", "a", encoding="utf-8") as log:
        log.write(json.dumps(record) + "\n")
    target = Path("login.py")
    text = target.read_text() if target.exists() else ""
    target.write_text(text + f"RETRIES = 2  # {tool}\n")
    if tool == "aider":  # aider's own cache, which is not part of the change
        Path(".aider.tags.cache.v4").mkdir(exist_ok=True)
        Path(".aider.tags.cache.v4/cache.db").write_text("x")
    recorded = next(STREAMS.glob(f"{tool}.*"))
    sys.stdout.write(recorded.read_text())
    return 0


if __name__ == "__main__":
    sys.exit(main())
