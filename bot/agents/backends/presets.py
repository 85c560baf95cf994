"""Ready-made command lines for the coding agents people already use.

A preset is what one would otherwise copy from each tool's documentation: the command and its
flags for unattended editing of the current directory, the format of what it prints, the
environment variable its API key goes in, and the hosts it needs to reach. Every field of a
backend entry still overrides its preset (`command`, `progress`, `key_env`).

The prompt (the instruction and the thread) goes in on stdin where the tool reads it there,
or as the value of an option written `--option={prompt}`: never as an argument of its own,
which a prompt starting with `-` would turn into an option. Each tool's own approval prompts
are turned off or set to edit the worktree without asking: nobody is at a terminal to approve,
and the bot commits, shows and reviews what the agent changed.
"""

from __future__ import annotations

from dataclasses import dataclass, field

PROMPT = "{prompt}"
MODEL = "{model}"


@dataclass(frozen=True)
class Preset:
    command: tuple[str, ...]
    progress: str  # a format of bot.agents.backends.jsonlines.FORMATS
    key_env: str  # the environment variable the agent's API key is given in
    hosts: tuple[str, ...]  # what it must reach: its model API
    model_args: tuple[str, ...] = ()  # added when the entry names a `model`
    model_env: str | None = None  # or the variable the model is named in
    env: dict[str, str] = field(default_factory=dict)  # fixed settings for unattended runs
    # Paths the tool writes for itself in the working directory, never part of the change.
    scratch: tuple[str, ...] = ()


PRESETS: dict[str, Preset] = {
    # `codex exec` reads the prompt from stdin when none is given; `--json` prints JSONL events
    # (thread.started, turn.*, item.*). It never asks in exec mode, and its default sandbox is
    # read-only: workspace-write lets it edit the worktree (`--full-auto` is gone since 0.1xx).
    "codex": Preset(
        command=(
            "codex",
            "exec",
            "--json",
            "--sandbox",
            "workspace-write",
            "--skip-git-repo-check",
        ),
        progress="codex",
        key_env="OPENAI_API_KEY",
        hosts=("api.openai.com",),
        model_args=("--model", MODEL),
    ),
    # Claude Code in print mode; stream-json needs --verbose; acceptEdits edits unasked.
    "claude": Preset(
        command=(
            "claude",
            "-p",
            "--output-format",
            "stream-json",
            "--verbose",
            "--permission-mode",
            "acceptEdits",
        ),
        progress="claude",
        key_env="ANTHROPIC_API_KEY",
        hosts=("api.anthropic.com",),
        model_args=("--model", MODEL),
    ),
    # aider prints plain text; the change is read from git. Its own commits, update checks,
    # analytics and history files are turned off, so the worktree holds only the edit.
    "aider": Preset(
        command=(
            "aider",
            f"--message={PROMPT}",
            "--yes-always",
            "--no-auto-commits",
            "--no-dirty-commits",
            "--no-pretty",
            "--no-stream",
            "--no-fancy-input",
            "--no-check-update",
            "--no-show-release-notes",
            "--no-analytics",
            "--no-gitignore",
            "--no-detect-urls",
            "--chat-history-file",
            "/dev/null",
            "--input-history-file",
            "/dev/null",
        ),
        progress="aider",
        key_env="ANTHROPIC_API_KEY",
        hosts=("api.anthropic.com", "api.openai.com"),
        model_args=("--model", MODEL),
        env={"NO_COLOR": "1"},
        scratch=(".aider*",),
    ),
    # OpenHands' CLI in headless mode: JSONL of SDK events, actions approved automatically;
    # it reads LLM_MODEL and LLM_API_KEY only with --override-with-envs.
    "openhands": Preset(
        command=("openhands", "--headless", "--json", "--override-with-envs", f"--task={PROMPT}"),
        progress="openhands",
        key_env="LLM_API_KEY",
        hosts=("api.anthropic.com", "api.openai.com"),
        model_env="LLM_MODEL",
        env={"OPENHANDS_WORK_DIR": "."},
    ),
    # Gemini CLI headless: stream-json events; yolo approves edits and shell commands, and
    # --skip-trust keeps an unknown folder from forcing the default (asking) mode.
    "gemini": Preset(
        command=(
            "gemini",
            f"--prompt={PROMPT}",
            "--output-format",
            "stream-json",
            "--approval-mode",
            "yolo",
            "--skip-trust",
        ),
        progress="gemini",
        key_env="GEMINI_API_KEY",
        hosts=("generativelanguage.googleapis.com",),
        model_args=("--model", MODEL),
    ),
    # opencode run: JSON events; permissions it would ask about are granted. It adds what
    # it reads on stdin to the (empty) message.
    "opencode": Preset(
        command=("opencode", "run", "--format", "json", "--dangerously-skip-permissions"),
        progress="opencode",
        key_env="ANTHROPIC_API_KEY",
        hosts=("api.anthropic.com", "models.dev"),
        model_args=("--model", MODEL),
        env={"OPENCODE_DISABLE_AUTOUPDATE": "1"},
    ),
}


def command_line(preset: Preset, model: str | None) -> list[str]:
    """The preset's command, with its model flag when a model is named."""
    extra = [arg.replace(MODEL, model) for arg in preset.model_args] if model else []
    return [*preset.command, *extra]
