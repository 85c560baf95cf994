"""A stand-in for `codex exec --json`, for the demo: it reads its prompt on stdin, edits the
repository it runs in, and prints the events Codex prints (thread.started, turn.*, item.*),
shaped as codex 0.171 prints them. No model is involved: the edit is always the same."""

from __future__ import annotations

import json
import sys
import time
import uuid
from pathlib import Path


def _say(event: dict[str, object]) -> None:
    print(json.dumps(event), flush=True)
    time.sleep(0.05)


def main() -> int:
    prompt = sys.stdin.read()
    _say({"type": "thread.started", "thread_id": str(uuid.uuid4())})
    _say({"type": "turn.started"})
    command = "/bin/bash -lc 'grep -n retries src/login.py'"
    running = {"id": "item_0", "type": "command_execution", "command": command}
    _say(
        {
            "type": "item.started",
            "item": {**running, "aggregated_output": "", "status": "in_progress"},
        }
    )
    done = {**running, "aggregated_output": "", "exit_code": 1, "status": "completed"}
    _say({"type": "item.completed", "item": done})
    target = Path("src/login.py")
    target.parent.mkdir(exist_ok=True)
    original = target.read_text() if target.exists() else ""
    target.write_text(original + "\nRETRIES = 2  # a flaky network is retried, not failed\n")
    change = {"path": str(target.resolve()), "kind": "update"}
    edit = {"id": "item_1", "type": "file_change", "changes": [change], "status": "completed"}
    _say({"type": "item.completed", "item": edit})
    text = f"Login now retries twice before failing ({len(prompt)} characters of thread read)."
    _say(
        {"type": "item.completed", "item": {"id": "item_2", "type": "agent_message", "text": text}}
    )
    usage = {"input_tokens": 2000, "cached_input_tokens": 0, "output_tokens": 100}
    _say({"type": "turn.completed", "usage": usage})
    return 0


if __name__ == "__main__":
    sys.exit(main())
