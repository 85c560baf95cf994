"""Reading `/ci` command text into a request, or a UsageError that says what was wrong."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

from bot.core.commands import Usage, UsageError, split_args

USAGE = Usage(
    command="/ci",
    summary="CI breakages of the tracked branches",
    lines=(
        ("status [repo]", "every tracked pipeline: green or red, and since when"),
        ("history <repo> [branch]", "the last breakages, how long they took to fix, flakes"),
        ("mute <repo> <branch> <duration>", "no new cards for a while, e.g. 30m, 2h, 1d"),
        ("unmute <repo> <branch>", "end a mute now"),
        ("help", "this list"),
    ),
)
REPO = re.compile(r"^[\w.-]+/[\w.-]+$")
BRANCH = re.compile(r"^[\w./-]{1,200}$")
_PART = re.compile(r"(\d+)([smhdw])")
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}
MAX_MUTE = dt.timedelta(days=30)


@dataclass(frozen=True)
class Status:
    repo: str | None


@dataclass(frozen=True)
class History:
    repo: str
    branch: str | None


@dataclass(frozen=True)
class Mute:
    repo: str
    branch: str
    duration: dt.timedelta


@dataclass(frozen=True)
class Unmute:
    repo: str
    branch: str


Request = Status | History | Mute | Unmute


def parse_duration(text: str) -> dt.timedelta:
    """`30m`, `2h`, `1d`, `1h30m`; between one minute and 30 days."""
    value = text.strip().lower()
    if not value or _PART.sub("", value):
        raise UsageError(f"`{text}` is not a duration; write it like 30m, 2h or 1d")
    seconds = sum(int(n) * _UNITS[unit] for n, unit in _PART.findall(value))
    span = dt.timedelta(seconds=seconds)
    if span < dt.timedelta(minutes=1) or span > MAX_MUTE:
        raise UsageError(f"`{text}` is out of range; mute for between 1m and 30d")
    return span


def _repo(text: str) -> str:
    if not REPO.match(text):
        raise UsageError(f"`{text}` is not a repository; write it as owner/name")
    return text


def _branch(text: str) -> str:
    if not BRANCH.match(text):
        raise UsageError(f"`{text}` is not a branch name")
    return text


def _arity(words: list[str], low: int, high: int, syntax: str) -> None:
    if not low <= len(words) - 1 <= high:
        raise UsageError(f"`{words[0]}` takes {syntax}")


def parse(text: str) -> Request:
    words = split_args(text)
    verb = words[0].lower() if words else ""
    if verb == "status":
        _arity(words, 0, 1, "an optional repository: `status [repo]`")
        return Status(_repo(words[1]) if len(words) > 1 else None)
    if verb == "history":
        _arity(words, 1, 2, "a repository and an optional branch: `history <repo> [branch]`")
        return History(_repo(words[1]), _branch(words[2]) if len(words) > 2 else None)
    if verb == "mute":
        _arity(words, 3, 3, "a repository, a branch and a duration: `mute <repo> <branch> 2h`")
        return Mute(_repo(words[1]), _branch(words[2]), parse_duration(words[3]))
    if verb == "unmute":
        _arity(words, 2, 2, "a repository and a branch: `unmute <repo> <branch>`")
        return Unmute(_repo(words[1]), _branch(words[2]))
    raise UsageError(f"`{words[0] if words else text}` is not a /ci subcommand")
