"""Slash-command usage, shared so every command answers `help` the same way and /ops lists all."""

from __future__ import annotations

import shlex
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # the gate imports this module; its types are only named here
    from bot.core.gate import Targets


@dataclass(frozen=True)
class Usage:
    command: str
    summary: str
    lines: tuple[tuple[str, str], ...] = field(default=())  # (syntax, what it does)
    note: str = ""  # a closing hint, e.g. where the command finds its context

    def text(self) -> str:
        """The usage as mrkdwn: the summary, then one line per form of the command."""
        lines = [f"*{self.command}*: {self.summary}"]
        lines += [
            f"• `{f'{self.command} {syntax}'.strip()}`: {what}" for syntax, what in self.lines
        ]
        if self.note:
            lines.append(self.note)
        return "\n".join(lines)

    def problem(self, message: str) -> str:
        """A refusal: what was wrong, then how to write the command."""
        return f":warning: {message}\n\n{self.text()}"


# (args after the word, user, channel) -> the ephemeral answer
SubcommandRun = Callable[[list[str], str, str], Awaitable[str]]


@dataclass(frozen=True)
class Subcommand:
    """A word of a shared command (`/ops digest ...`) that another feature answers."""

    word: str
    run: SubcommandRun
    targets: Targets  # the records `command <word> ...` touches, for the gate
    lines: tuple[tuple[str, str], ...] = ()


class CommandRegistry:
    def __init__(self) -> None:
        self._usages: dict[str, Usage] = {}
        self._subcommands: dict[tuple[str, str], Subcommand] = {}

    def add(self, usage: Usage) -> None:
        self._usages[usage.command] = usage

    def add_subcommand(self, command: str, sub: Subcommand) -> None:
        """Let `command <word> ...` reach another feature; its usage lines join the command's
        when the usage is read, whichever of the two was registered first."""
        self._subcommands[(command, sub.word)] = sub

    def subcommand(self, command: str, word: str) -> Subcommand | None:
        return self._subcommands.get((command, word.lower()))

    def get(self, command: str) -> Usage | None:
        usage = self._usages.get(command)
        if usage is None:
            return None
        extra = [sub.lines for (name, _), sub in self._subcommands.items() if name == command]
        return replace(usage, lines=usage.lines + sum(extra, ())) if extra else usage

    def all(self) -> list[Usage]:
        found = (self.get(command) for command in sorted(self._usages))
        return [usage for usage in found if usage is not None]


def wants_help(text: str | None) -> bool:
    """Empty text and `help` both ask for the usage."""
    stripped = (text or "").strip().lower()
    return stripped in ("", "help", "-h", "--help", "?")


class UsageError(ValueError):
    """Bad command text: the message says what was wrong and what to type instead."""


def split_args(text: str) -> list[str]:
    """Split command text like a shell would, so quoted titles stay one argument."""
    try:
        return shlex.split(text)
    except ValueError as error:
        raise UsageError(f"could not read the command text: {error}") from None
