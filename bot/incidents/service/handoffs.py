"""Incident follow-ups handed to coding agents (no Slack, no HTTP here).

`/incident followup <text> agent` and the card's "Send a follow-up to an agent" menu both come
here, inside the caller's transaction: the follow-up's prompt is built from the incident
(`agent_prompt`) and handed to the agents through `bot.agents.service`, in the incident card's
thread. The request names the card as its watcher, so the card is redrawn as the attempts go and
when a pull request opens; the follow-up keeps the request's id. A refusal raises before
anything is written.

Who may: whoever may add follow-ups to the incident (its policy's `SEND` verb, the same people
as `ACT`) and may start agent tasks (the agents' `START` verb: `agents.allowed_users`, admins);
the gate checks both before this runs.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.agents import service as agents
from bot.config import Settings
from bot.core.commands import UsageError
from bot.core.projector import NotReady, posted_ts
from bot.incidents.models import FollowUp, Incident, TimelineEntry
from bot.incidents.service.access import IncidentError
from bot.incidents.service.agent_prompt import FollowUpBrief, build_prompt
from bot.incidents.service.kinds import CARD
from bot.incidents.service.queries import entry_state

SEND_USAGE = "`/incident followup <text> [@owner] agent [repo=owner/name] [attempts=N]`"


@dataclass(frozen=True)
class Sent:
    """A follow-up handed to the agents, as the person who sent it is told."""

    followup_id: int
    request_id: int
    repo: str
    attempts: int
    channel: str  # the incident card's, where the agents work in its thread


def choose_repo(settings: Settings, named: str | None, channel: str | None) -> str:
    """The repository the agents work on: `repo=` when they know it, else the channel's default
    or the only one they know; `UsageError` that says what to type otherwise."""
    known = agents.known_repos(settings)
    listed = ", ".join(f"`{repo}`" for repo in known)
    if named:
        found = agents.handoff_repo(settings, named)
        if found is None:
            hint = f" Known repositories: {listed}." if known else ""
            raise UsageError(f"The coding agents do not work on `{named[:100]}`.{hint}")
        return found
    if not known:
        raise UsageError(
            "The coding agents know no repository: an admin adds one to `agents.repos` "
            "(and a backend to `agents.backends`)."
        )
    found = agents.default_repo(settings, channel)
    if found is None:
        raise UsageError(
            f"Say which repository with `repo=owner/name` (one of {listed}): {SEND_USAGE}."
        )
    return found


def attempts_of(value: str | None) -> int:
    """`attempts=N` as a number (its range is the agents' rule, checked by the hand-off)."""
    if value is None or value == "":
        return 1
    if not value.isascii() or not value.isdigit() or len(value) > 3:
        raise UsageError(f"`attempts=` must be a whole number (got `{value[:20]}`).")
    return int(value)


def still_unsent(followup: FollowUp) -> None:
    if followup.agent_request_id is not None:
        raise IncidentError("That follow-up was already sent to the coding agents.")


@dataclass(frozen=True)
class SendChoices:
    """What the form for sending a follow-up offers, and what it starts with."""

    repos: tuple[str, ...]
    repo: str | None  # the channel's default, or the only one
    backends: tuple[str, ...]
    most_attempts: int


def send_choices(settings: Settings, incident: Incident, followup: FollowUp) -> SendChoices:
    """The form's choices for sending `followup`; `IncidentError`/`UsageError` when it cannot
    be sent at all (already sent, or no repository the agents work on)."""
    still_unsent(followup)
    repos = tuple(agents.known_repos(settings))
    if not repos:
        choose_repo(settings, None, incident.channel_id)  # raises what to do about it
    backends, most = agents.handoff_choices(settings)
    return SendChoices(repos, agents.default_repo(settings, incident.channel_id), backends, most)


async def followup_of(session: AsyncSession, incident: Incident, followup_id: int) -> FollowUp:
    """The incident's own follow-up (a forged menu value may name another incident's)."""
    found = await session.get(FollowUp, followup_id)
    if found is None or found.incident_id != incident.id:
        raise IncidentError(f"Incident #{incident.number} has no such follow-up.")
    return found


async def send_to_agents(
    session: AsyncSession,
    settings: Settings,
    incident: Incident,
    followup: FollowUp,
    *,
    user: str,
    repo: str | None = None,
    attempts: int = 1,
    backend: str | None = None,
) -> Sent:
    """Hand `followup` to the agents on behalf of `user`, in the incident card's thread."""
    still_unsent(followup)
    chosen = choose_repo(settings, repo, incident.channel_id)
    try:
        channel, thread_ts = await posted_ts(session, CARD, incident.id)
    except NotReady:
        raise IncidentError(
            f"The card of incident #{incident.number} is not posted yet; try again shortly."
        ) from None
    prompt = build_prompt(await _brief(session, incident, followup, user, chosen))
    handoff = agents.Handoff(
        instruction=prompt.instruction,
        prompt=prompt.text,
        about=f"follow-up of incident #{incident.number}, with the incident's title, "
        "severity, status, summary and latest timeline lines",
        repo=chosen,
        base_branch=None,
        attempts=attempts,
        channel=channel,
        thread_ts=thread_ts,
        requester=user,
        redactions=prompt.redactions,
        watch=(CARD, str(incident.id)),
        backend=backend,
    )
    # UsageError (a backend or a number of attempts the configuration does not allow) raises
    # here, before the follow-up is changed.
    request_id = await agents.hand_off(session, handoff, settings)
    followup.agent_request_id = request_id
    await session.flush()
    return Sent(followup.id, request_id, chosen, attempts, channel)


async def _brief(
    session: AsyncSession, incident: Incident, followup: FollowUp, user: str, repo: str
) -> FollowUpBrief:
    entries = await session.scalars(
        select(TimelineEntry)
        .where(TimelineEntry.incident_id == incident.id)
        .order_by(TimelineEntry.occurred_at, TimelineEntry.id)
    )
    return FollowUpBrief(
        number=incident.number,
        title=incident.title,
        severity=incident.severity,
        status=incident.status,
        description=incident.description,
        summary=incident.summary,
        followup=followup.text,
        owner=followup.owner_id,
        recorded_by=followup.created_by,
        requester=user,
        repo=repo,
        timeline=tuple(entry_state(row) for row in entries),
    )
