"""A stand-in CLI coding agent: reads its prompt on stdin, edits files, prints JSON lines.

Like `codex exec --json` it reports progress as one JSON object per line on stdout. The
instruction (from OPSBOT_INSTRUCTION) steers it: `fail` makes it exit with an error, `slow`
makes it wait so a test can cancel it, `nothing` makes it change no file, `leak` makes it
write a token into the change, `hold` makes it wait until a `.release` file appears in its
worktree (put there by a test, when the test is ready for the attempt to end).
"""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path


def say(**event: object) -> None:
    print(json.dumps(event), flush=True)


def main() -> int:
    prompt = sys.stdin.read()
    instruction = os.environ.get("OPSBOT_INSTRUCTION", "")
    say(type="step", text=f"Read a prompt of {len(prompt)} characters")
    if "fail" in instruction:
        print("could not make sense of the repository", file=sys.stderr)
        return 3
    if "slow" in instruction:
        say(type="step", text="Thinking for a long time")
        Path(".agent-started").write_text("")  # in its worktree: the only place it may write
        time.sleep(60)
    if "hold" in instruction:
        release = Path(".release")
        while not release.exists():
            time.sleep(0.05)
        release.unlink()
    if "leak" in instruction:  # a credential lands in the change
        Path("settings.py").write_text('GITHUB_TOKEN = "ghp_' + "a1B2c3D4e5" * 3 + 'a1B2c3"\n')
    if "nothing" not in instruction:
        say(type="item.started", item={"type": "command_execution", "command": "pytest -q"})
        notes = Path("NOTES.md")
        attempt = os.environ.get("OPSBOT_ATTEMPT", "1")
        done = f"- {instruction}\n- done by the fake agent\n- attempt {attempt}\n"
        notes.write_text(notes.read_text() + done)
        Path("src").mkdir(exist_ok=True)
        Path("src/flaky.py").write_text("RETRIES = 3\n")
        say(type="step", text="Edited NOTES.md and src/flaky.py")
    say(type="result", summary="Made the login test retry; it passes now.", tests="5 passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
