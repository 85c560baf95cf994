"""Plain snapshots of incident state: what the pure views and the postmortem render from."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from bot.agents import service as agents
from bot.config import Settings
from bot.incidents.settings import SECTION as INCIDENTS

MITIGATED = "mitigated"


@dataclass(frozen=True)
class Options:
    """The workspace's incident vocabulary (config), carried into views for menus and labels."""

    severities: tuple[str, ...]
    statuses: tuple[str, ...]
    roles: tuple[str, ...]
    announce_channel: str | None = None
    intervals: tuple[tuple[str, int], ...] = ()
    admins: frozenset[str] = frozenset()
    channel_prefix: str = "inc"
    timeline_reaction: str = "pushpin"
    # Whether the coding agents work on some repository: the card then offers to send them a
    # follow-up.
    agents: bool = False

    @classmethod
    def from_settings(cls, settings: Settings) -> Options:
        config = settings.section(INCIDENTS)
        return cls(
            severities=tuple(config.severities),
            statuses=tuple(config.statuses),
            roles=tuple(config.roles),
            announce_channel=config.announce_channel,
            intervals=tuple(sorted(config.update_intervals_minutes.items())),
            admins=frozenset(settings.here().admins),
            channel_prefix=config.channel_prefix,
            timeline_reaction=config.timeline_reaction.strip(":"),
            agents=bool(agents.known_repos(settings)),
        )

    @property
    def lead_role(self) -> str:
        """The first configured role leads the incident (default: commander)."""
        return self.roles[0] if self.roles else "commander"

    @property
    def resolved_status(self) -> str:
        return self.statuses[-1] if self.statuses else "resolved"

    @property
    def open_statuses(self) -> tuple[str, ...]:
        return tuple(s for s in self.statuses if s != self.resolved_status)

    def interval_minutes(self, severity: str) -> int | None:
        return dict(self.intervals).get(severity)

    def counts_as_mitigated(self, status: str) -> bool:
        """`mitigated` and every status after it in the configured order."""
        if MITIGATED not in self.statuses or status not in self.statuses:
            return status == self.resolved_status
        return self.statuses.index(status) >= self.statuses.index(MITIGATED)


@dataclass(frozen=True)
class EntryState:
    id: int
    kind: str
    text: str
    author_id: str | None
    occurred_at: dt.datetime
    message_ts: str | None = None


@dataclass(frozen=True)
class FollowUpAgent:
    """The coding agents' work on a follow-up, as `bot.agents.service` reports it."""

    request_id: int
    repo: str
    attempts: int
    finished: int
    state: str  # waiting, working, done or failed
    prs: tuple[tuple[int, str], ...] = ()  # (attempt, pull request url)


@dataclass(frozen=True)
class LatePrsState:
    """An incident's postmortem draft, and its follow-ups' pull requests: (follow-up text,
    attempt, url) each."""

    number: int
    channel_id: str
    draft: str
    prs: tuple[tuple[str, int, str], ...]


@dataclass(frozen=True)
class FollowUpState:
    id: int
    text: str
    owner_id: str | None
    agent: FollowUpAgent | None = None  # set once the follow-up was sent to the agents
    agent_requested: bool = False  # sent, but the agents' request is gone (retention)

    @property
    def may_go_to_agent(self) -> bool:
        return self.agent is None and not self.agent_requested


@dataclass(frozen=True)
class IncidentState:
    id: int  # the primary key: what buttons and tasks carry, never shown
    number: int  # what people see and type, counted within the workspace
    title: str
    description: str
    severity: str
    status: str
    private: bool
    reporter_id: str
    channel_id: str | None
    channel_name: str | None
    declared_at: dt.datetime
    mitigated_at: dt.datetime | None
    resolved_at: dt.datetime | None
    resolved_by: str | None
    summary: str
    last_update_at: dt.datetime | None
    roles: tuple[tuple[str, str | None], ...]
    followups: tuple[FollowUpState, ...]
    timeline: tuple[EntryState, ...]
    options: Options
    last_update: EntryState | None = None

    @property
    def is_open(self) -> bool:
        return self.resolved_at is None

    def holder(self, role: str) -> str | None:
        return dict(self.roles).get(role)

    @property
    def commander(self) -> str | None:
        return self.holder(self.options.lead_role)

    @property
    def time_to_mitigate(self) -> dt.timedelta | None:
        return None if self.mitigated_at is None else self.mitigated_at - self.declared_at

    @property
    def time_to_resolve(self) -> dt.timedelta | None:
        return None if self.resolved_at is None else self.resolved_at - self.declared_at


@dataclass(frozen=True)
class UpdateState:
    """One `/incident update`, posted in the incident channel or the announcement thread."""

    incident: IncidentState
    entry: EntryState
    channel: str
    thread_ts: str | None = None


@dataclass(frozen=True)
class RoleDmState:
    incident: IncidentState
    role: str
    user_id: str
    assigned_by: str


@dataclass(frozen=True)
class ReminderState:
    id: int
    incident: IncidentState
    due_at: dt.datetime
    commander_id: str | None
    snoozed_by: str | None
    snoozed_until: dt.datetime | None
    updated_since: bool


@dataclass(frozen=True)
class FollowUpPr:
    """A pull request the agents opened for an incident's follow-up (digests read these)."""

    incident: IncidentSummary
    followup: str
    attempt: int
    url: str
    opened_at: dt.datetime


@dataclass(frozen=True)
class IncidentSummary:
    """What other features (digests, App Home) read about an incident."""

    id: int  # the primary key: for access checks, never shown
    number: int  # what people see and type, counted within the workspace
    title: str
    severity: str
    status: str
    private: bool
    channel_id: str | None
    reporter_id: str
    commander_id: str | None
    declared_at: dt.datetime
    resolved_at: dt.datetime | None
