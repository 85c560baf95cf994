"""`/incident <subcommand>`: text -> service calls -> the ephemeral answer (no Slack I/O here).

Runs inside the caller's transaction; any refusal raises before it commits, so nothing is written.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from bot.config import Settings
from bot.core.access import Policy
from bot.core.commands import UsageError
from bot.incidents import service
from bot.incidents.models import Incident
from bot.incidents.service import handoffs, reports
from bot.incidents.service.access import target
from bot.incidents.service.parsing import Request, parse, plain_mentions
from bot.incidents.service.state import Options
from bot.incidents.views.modals import declared_text, list_blocks
from bot.incidents.views.text import channel_link, safe


@dataclass
class Answer:
    text: str
    blocks: list[Any] = field(default_factory=list)


async def run(
    session: AsyncSession,
    opts: Options,
    policy: Policy,
    text: str,
    user: str,
    channel: str | None,
    settings: Settings,
) -> Answer:
    request = parse(text, opts.severities)
    if request.sub == "declare":
        assert request.text
        incident = await service.declare(
            session, opts, title=request.text, severity=request.severity, reporter=user
        )
        return Answer(declared_text(incident.number, incident.title, incident.private))
    if request.sub == "list":
        visible = await reports.open_incidents_visible_to(session, policy, user)
        list_text, blocks = list_blocks(visible)
        return Answer(list_text, blocks)
    incident, free_text = await target(session, request, channel)
    if request.sub == "followup" and request.to_agent:
        return await _followup_to_agent(session, settings, request, incident, free_text, user)
    return await _act(session, opts, request, incident, plain_mentions(free_text), user)


async def _followup_to_agent(
    session: AsyncSession,
    settings: Settings,
    request: Request,
    incident: Incident,
    free_text: str,
    user: str,
) -> Answer:
    """Record the follow-up and hand it to the agents, or neither (one transaction)."""
    # The repository is checked first, so a refusal names it before anything else.
    handoffs.choose_repo(settings, request.extra.get("repo"), incident.channel_id)
    attempts = handoffs.attempts_of(request.extra.get("attempts"))
    text = plain_mentions(free_text)
    followup_id = await service.add_followup(session, incident, text, request.user_id, user)
    followup = await handoffs.followup_of(session, incident, followup_id)
    sent = await handoffs.send_to_agents(
        session, settings, incident, followup, user=user,
        repo=request.extra.get("repo"), attempts=attempts,
    )  # fmt: skip
    return Answer(sent_text(incident.number, sent))


def sent_text(number: int, sent: handoffs.Sent) -> str:
    count = f"{sent.attempts} agent attempts" if sent.attempts != 1 else "a coding agent"
    return (
        f":robot_face: Follow-up recorded on incident #{number} and sent to {count} on "
        f"*{safe(sent.repo)}*. They work in the thread of the incident's card, which links "
        "their pull request once it is opened."
    )


async def _act(
    session: AsyncSession,
    opts: Options,
    request: Request,
    incident: Incident,
    free_text: str,
    user: str,
) -> Answer:
    number = f"#{incident.number}"
    if request.sub in ("sev", "status"):
        return await _set(session, opts, request, incident, user)
    if request.sub == "role":
        assert request.user_id
        role = request.words[0]
        changed = await service.assign_role(session, opts, incident, role, request.user_id, user)
        verb = "is now" if changed else "already is"
        return Answer(f"<@{request.user_id}> {verb} {safe(role)} of incident {number}.")
    if request.sub == "update":
        await service.post_update(session, incident, free_text, user)
        return Answer(f"Update posted to incident {number}.")
    if request.sub == "note":
        await service.add_note(session, incident, free_text, user)
        return Answer(f"Noted on the timeline of incident {number}.")
    if request.sub == "followup":
        await service.add_followup(session, incident, free_text, request.user_id, user)
        return Answer(f"Follow-up recorded on incident {number}.")
    if request.sub == "resolve":
        await service.resolve(session, opts, incident, user, free_text)
        return Answer(
            f":white_check_mark: Incident {number} resolved. The postmortem draft will be "
            f"posted in {channel_link(incident.channel_id, 'its channel')}."
        )
    raise UsageError(f"I don't know the subcommand `{request.sub}`.")


async def _set(
    session: AsyncSession, opts: Options, request: Request, incident: Incident, user: str
) -> Answer:
    noun = "severity" if request.sub == "sev" else "status"
    if len(request.words) != 1:
        choices = opts.severities if request.sub == "sev" else opts.statuses
        raise UsageError(f"Give one {noun}: {', '.join(choices)}.")
    value = request.words[0]
    if request.sub == "sev":
        changed = await service.set_severity(session, opts, incident, value, user)
        current = incident.severity
    else:
        changed = await service.set_status(session, opts, incident, value, user)
        current = incident.status
    verb = "is now" if changed else "already is"
    return Answer(f"Incident #{incident.number} {verb} {safe(current)}.")
