"""What every provider's payload becomes: one completed run, in provider-neutral terms."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

GREEN = "green"
RED = "red"
IGNORED = "ignored"


@dataclass(frozen=True)
class Commit:
    sha: str
    message: str | None = None
    url: str | None = None
    author_name: str | None = None
    author_email: str | None = None
    author_login: str | None = None


@dataclass(frozen=True)
class RunEvent:
    provider: str
    repo: str
    branch: str
    workflow: str
    external_id: str
    attempt: int
    sha: str
    conclusion: str
    outcome: str
    created_at: dt.datetime
    completed_at: dt.datetime
    default_branch: str | None = None
    number: str | None = None
    url: str | None = None
    title: str | None = None
    commits: tuple[Commit, ...] = field(default_factory=tuple)

    @property
    def head_commit(self) -> Commit:
        for commit in self.commits:
            if commit.sha == self.sha:
                return commit
        return Commit(sha=self.sha)


@dataclass(frozen=True)
class Ignored:
    """A well-formed payload we do not act on (wrong event, action or state); answered 202."""

    reason: str


def outcome_of(conclusion: str, green: set[str], red: set[str]) -> str:
    value = conclusion.lower()
    if value in green:
        return GREEN
    if value in red:
        return RED
    return IGNORED
