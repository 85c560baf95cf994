"""Reading a hand-off: the instruction and its inline options, checked against the config (pure)."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

from bot.agents.settings import AgentsConfig
from bot.core.commands import UsageError

MAX_ATTEMPTS = 4
OPTION_NAMES = ("repo", "backend", "attempts", "branch")
_OPTION = re.compile(r"(?<!\S)(repo|backend|attempts|branch)=(\S*)", re.IGNORECASE)
_REPO = re.compile(r"^[\w.-]+/[\w.-]+$")
_BRANCH = re.compile(r"^(?!-)(?!.*\.\.)(?!.*//)[\w./-]{1,200}(?<![/.])$")
_LEADING_MENTION = re.compile(r"^\s*<@[UW][A-Z0-9]+(?:\|[^>]*)?>[\s,:]*")


@dataclass(frozen=True)
class Catalog:
    """What the configuration allows a hand-off to name."""

    repos_by_channel: Mapping[str, str]
    known_repos: frozenset[str]
    backends: tuple[str, ...]

    @classmethod
    def from_config(cls, agents: AgentsConfig) -> Catalog:
        known = frozenset(agents.repos.values()) | frozenset(agents.checkouts)
        return cls(dict(agents.repos), known, tuple(b.name for b in agents.backends))


@dataclass(frozen=True)
class Spec:
    instruction: str
    repo: str
    backend: str
    attempts: int
    base_branch: str | None


def strip_mention(text: str, bot_user_id: str | None = None) -> str:
    """The mention's text without the bot's own @mention (wherever it was typed)."""
    if bot_user_id:
        text = re.sub(rf"<@{re.escape(bot_user_id)}(?:\|[^>]*)?>", " ", text)
    else:
        text = _LEADING_MENTION.sub("", text)
    return re.sub(r"[ \t]+", " ", text).strip()


def split_options(text: str) -> tuple[str, dict[str, str]]:
    """Pull `repo=`, `backend=`, `attempts=`, `branch=` out of free text."""
    options: dict[str, str] = {}
    for match in _OPTION.finditer(text):
        name = match.group(1).lower()
        if name in options:
            raise UsageError(f"`{name}=` is given twice.")
        options[name] = match.group(2)
    instruction = _OPTION.sub(" ", text)
    return re.sub(r"[ \t]+", " ", instruction).strip(), options


def parse_attempts(value: str | None) -> int:
    if value is None or value == "":
        return 1
    if not value.isdigit() or not 1 <= int(value) <= MAX_ATTEMPTS:
        raise UsageError(
            f"`attempts=` must be a whole number from 1 to {MAX_ATTEMPTS} (got `{value}`)."
        )
    return int(value)


class MissingRepo(UsageError):
    """No repository was named and the channel has none: a thread can be asked to pick one."""


def check_repo(repo: str | None, channel: str | None, catalog: Catalog) -> str:
    chosen = repo or (catalog.repos_by_channel.get(channel or "") if channel else None)
    if not chosen:
        raise MissingRepo(
            "No repository: add `repo=owner/name` (this channel has no default repository)."
        )
    if not _REPO.match(chosen):
        raise UsageError(f"`{chosen}` is not a repository; write it as `owner/name`.")
    if catalog.known_repos and chosen not in catalog.known_repos:
        known = ", ".join(f"`{r}`" for r in sorted(catalog.known_repos))
        raise UsageError(f"Unknown repository `{chosen}`. Known repositories: {known}.")
    return chosen


def check_backend(name: str | None, catalog: Catalog) -> str:
    if not catalog.backends:
        raise UsageError("No agent backend is configured (`agents.backends`).")
    if not name:
        return catalog.backends[0]
    if name not in catalog.backends:
        known = ", ".join(f"`{b}`" for b in catalog.backends)
        raise UsageError(f"Unknown backend `{name}`. Configured backends: {known}.")
    return name


def check_branch(branch: str | None) -> str | None:
    if not branch:
        return None
    if not _BRANCH.match(branch):
        raise UsageError(f"`{branch}` is not a usable branch name.")
    return branch


def check_instruction(instruction: str) -> str:
    if not instruction.strip():
        raise UsageError("The instruction is empty: say what the agent should do.")
    return instruction.strip()


def resolve(
    instruction: str, options: Mapping[str, str], catalog: Catalog, channel: str | None
) -> Spec:
    """A complete, valid spec, or UsageError naming the first thing that is wrong."""
    return Spec(
        instruction=check_instruction(instruction),
        repo=check_repo(options.get("repo") or None, channel, catalog),
        backend=check_backend(options.get("backend") or None, catalog),
        attempts=parse_attempts(options.get("attempts")),
        base_branch=check_branch(options.get("branch") or None),
    )


def parse_mention(
    text: str, bot_user_id: str | None, catalog: Catalog, channel: str | None
) -> Spec:
    instruction, options = split_options(strip_mention(text, bot_user_id))
    return resolve(instruction, options, catalog, channel)


def parse_run(text: str, catalog: Catalog, channel: str | None) -> Spec:
    """`/agent run <repo> <instruction> [options]`; `text` is what follows `run`."""
    first, _, rest = text.strip().partition(" ")
    if not first:
        raise UsageError("Say which repository and what to do: `/agent run owner/name <task>`.")
    instruction, options = split_options(rest)
    if "repo" in options:
        raise UsageError("Give the repository once, right after `run`.")
    return resolve(instruction, {**options, "repo": first}, catalog, channel)
