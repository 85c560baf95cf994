"""Pure views: incident state -> the messages the projector keeps in sync with Slack.

Beside them: `modals` (the declare modal and the `/incident` answers), `postmortem` (the draft's
Markdown) and `text` (the small formatters they share).
"""

from __future__ import annotations

from slack_sdk.models.blocks import (
    ActionsBlock,
    Block,
    ButtonElement,
    ContextBlock,
    DividerBlock,
    Option,
    SectionBlock,
    StaticSelectElement,
)
from slack_sdk.models.blocks.basic_components import MarkdownTextObject

from bot.core.projector import Rendered
from bot.core.text import TOPIC_LIMIT, by_person, mrkdwn
from bot.core.text import topic as text_topic
from bot.incidents.service.kinds import SNOOZE_MINUTES
from bot.incidents.service.state import (
    EntryState,
    FollowUpState,
    IncidentState,
    ReminderState,
    RoleDmState,
    UpdateState,
)
from bot.incidents.views.agents import agent_line, send_menu
from bot.incidents.views.text import channel_link, duration, local_time, minutes_text, person

# A configured name (severity, status, role) in the channel topic: the title gets the rest.
TOPIC_WORD = 40
# Each stays under Slack's 3000 characters per section with the longest entries.
TIMELINE_SHOWN = 10
FOLLOWUPS_SHOWN = 10
TAKE_ROLE = "incidents.take_role"
SET_SEVERITY = "incidents.set_severity"
SET_STATUS = "incidents.set_status"
SNOOZE = "incidents.snooze"
DUTIES = {
    "commander": "Lead the response: decide, delegate, keep severity and status right, post "
    "updates at the agreed interval, and resolve the incident when it is over.",
    "communications": "Keep everyone outside the channel informed: stakeholders, support and "
    "customers. Draft the updates and make sure they go out on time.",
    "scribe": "Keep the timeline: pin or :pushpin: the messages that matter, add notes with "
    "`/incident note`, and record follow-ups with `/incident followup`.",
}


def _md(text: str) -> MarkdownTextObject:
    return MarkdownTextObject(text=text)


def _section(text: str) -> SectionBlock:
    return SectionBlock(text=_md(text[:3000]))


def heading(state: IncidentState) -> str:
    icon = ":rotating_light:" if state.is_open else ":white_check_mark:"
    return f"{icon} *Incident #{state.number}: {mrkdwn(by_person(state.title))}*"


def fallback(state: IncidentState) -> str:
    title = mrkdwn(by_person(state.title))
    return f"Incident #{state.number}: {title} ({state.severity}, {state.status})"


def _facts(state: IncidentState, with_channel: bool) -> list[MarkdownTextObject]:
    facts = [
        f"*Severity*\n{mrkdwn(by_person(state.severity))}",
        f"*Status*\n{mrkdwn(by_person(state.status))}",
        f"*{mrkdwn(by_person(state.options.lead_role.capitalize()))}*\n{person(state.commander)}",
        f"*Reporter*\n{person(state.reporter_id)}",
        f"*Declared*\n{local_time(state.declared_at)}",
    ]
    if with_channel:
        facts.append(f"*Channel*\n{channel_link(state.channel_id)}")
    if state.mitigated_at is not None:
        facts.append(f"*Time to mitigate*\n{duration(state.time_to_mitigate)}")
    if state.resolved_at is not None:
        facts.append(f"*Time to resolve*\n{duration(state.time_to_resolve)}")
    return [_md(fact) for fact in facts[:10]]


def _entry_line(entry: EntryState) -> str:
    who = f" {person(entry.author_id, '')}" if entry.author_id else ""
    return f"• {local_time(entry.occurred_at, '{time}')}{who}: {mrkdwn(by_person(entry.text), 200)}"


def _timeline_block(state: IncidentState) -> SectionBlock:
    shown = state.timeline[-TIMELINE_SHOWN:]
    lines = [_entry_line(entry) for entry in shown]
    hidden = len(state.timeline) - len(shown)
    head = "*Timeline*" + (f" (last {len(shown)} of {len(state.timeline)})" if hidden else "")
    return _section("\n".join([head, *lines]))


def _roles_blocks(state: IncidentState) -> list[Block]:
    lines = [f"• {mrkdwn(by_person(role))}: {person(user)}" for role, user in state.roles]
    blocks: list[Block] = [_section("*Roles*\n" + "\n".join(lines))]
    if state.is_open and state.options.roles:
        buttons = [
            ButtonElement(
                text=f"Take {role}"[:75],
                action_id=f"{TAKE_ROLE}.{role}",
                value=str(state.id),
            )
            for role in state.options.roles[:25]
        ]
        blocks.append(ActionsBlock(block_id=f"incidents.roles.{state.id}", elements=buttons))
    return blocks


def _options(incident_id: int, values: tuple[str, ...]) -> list[Option]:
    return [Option(text=value[:75], value=f"{incident_id}:{value}") for value in values[:100]]


def _menu(
    state: IncidentState, action_id: str, values: tuple[str, ...], current: str
) -> StaticSelectElement:
    options = _options(state.id, values)
    initial = next((o for o in options if o.value == f"{state.id}:{current}"), None)
    return StaticSelectElement(
        action_id=action_id,
        placeholder=action_id.rsplit("_", 1)[-1].capitalize(),
        options=options,
        initial_option=initial,
    )


def _controls(state: IncidentState) -> ActionsBlock:
    return ActionsBlock(
        block_id=f"incidents.controls.{state.id}",
        elements=[
            _menu(state, SET_SEVERITY, state.options.severities, state.severity),
            _menu(state, SET_STATUS, state.options.statuses, state.status),
        ],
    )


def _followup_line(followup: FollowUpState) -> str:
    owner = f" ({person(followup.owner_id)})" if followup.owner_id else ""
    agent = f" · {agent_line(followup.agent)}" if followup.agent else ""
    return f"• {mrkdwn(by_person(followup.text), 200)}{owner}{agent}"


def _followups_block(state: IncidentState) -> SectionBlock:
    shown = state.followups[:FOLLOWUPS_SHOWN]
    lines = [_followup_line(f) for f in shown]
    if len(state.followups) > len(shown):
        lines.append(f"…and {len(state.followups) - len(shown)} more in the postmortem.")
    return _section("*Follow-ups*\n" + "\n".join(lines))


def incident_card(state: IncidentState) -> Rendered | None:
    """The card pinned in the incident channel; None until the channel exists."""
    if state.channel_id is None:
        return None
    blocks: list[Block] = [_section(heading(state))]
    if state.description:
        blocks.append(_section(mrkdwn(by_person(state.description), 1500)))
    blocks.append(SectionBlock(fields=_facts(state, with_channel=False)))
    if state.is_open:
        blocks.append(_controls(state))
    if state.summary:
        blocks.append(_section(f"*Summary*\n{mrkdwn(by_person(state.summary), 1500)}"))
    if state.last_update is not None:
        update = state.last_update
        blocks.append(
            _section(
                f"*Latest update* ({local_time(update.occurred_at)}, {person(update.author_id)})"
                f"\n{mrkdwn(by_person(update.text), 1500)}"
            )
        )
    blocks += [DividerBlock(), *_roles_blocks(state)]
    if state.followups:
        blocks.append(_followups_block(state))
        menu = send_menu(state)
        if menu is not None:
            blocks.append(menu)
    blocks += [DividerBlock(), _timeline_block(state)]
    blocks.append(
        ContextBlock(
            elements=[
                _md(
                    f"React with :{state.options.timeline_reaction}: or pin a message to add it "
                    "to the timeline. `/incident update`, `note`, `followup`, `resolve` work here."
                )
            ]
        )
    )
    return Rendered(channel=state.channel_id, text=fallback(state), blocks=blocks, pin=True)


def announcement(state: IncidentState) -> Rendered | None:
    """The card in the announcement channel; a private incident shows only who to ask."""
    channel = state.options.announce_channel
    if channel is None:
        return None
    if state.private:
        return _private_announcement(state, channel)
    blocks: list[Block] = [
        _section(heading(state)),
        SectionBlock(fields=_facts(state, with_channel=True)),
    ]
    if state.summary:
        blocks.append(_section(f"*Summary*\n{mrkdwn(by_person(state.summary), 1500)}"))
    return Rendered(channel=channel, text=fallback(state), blocks=blocks)


def _private_announcement(state: IncidentState, channel: str) -> Rendered:
    contacts = sorted({state.reporter_id, *([state.commander] if state.commander else [])})
    ask = " or ".join(person(user) for user in contacts)
    if state.is_open:
        text = f":lock: A private incident (#{state.number}) is in progress. Ask {ask} for access."
    else:
        text = f":lock: The private incident #{state.number} is resolved. Ask {ask} for details."
    return Rendered(channel=channel, text=text, blocks=[_section(text)])


def update_post(state: UpdateState) -> Rendered | None:
    if not state.channel:
        return None
    incident, entry = state.incident, state.entry
    text = (
        f":loudspeaker: *Update on incident #{incident.number}* from {person(entry.author_id)}\n"
        f"{mrkdwn(by_person(entry.text), 2500)}"
    )
    context = f"{mrkdwn(by_person(incident.severity))} · {mrkdwn(by_person(incident.status))}"
    if state.thread_ts is None and incident.channel_id:
        context += f" · {channel_link(incident.channel_id)}"
    blocks: list[Block] = [_section(text), ContextBlock(elements=[_md(context)])]
    return Rendered(
        channel=state.channel,
        text=f"Update on incident #{incident.number}: {mrkdwn(by_person(entry.text), 200)}",
        blocks=blocks,
        thread_ts=state.thread_ts,
    )


def role_dm(state: RoleDmState) -> Rendered:
    incident = state.incident
    duties = DUTIES.get(state.role.lower(), "Help the commander with whatever this role needs.")
    who = (
        "You are now"
        if state.assigned_by == state.user_id
        else (f"{person(state.assigned_by)} made you")
    )
    text = (
        f"{who} *{mrkdwn(by_person(state.role))}* of incident #{incident.number}: "
        f"{mrkdwn(by_person(incident.title))} ({channel_link(incident.channel_id)})."
    )
    blocks: list[Block] = [_section(text), _section(f"*Your duties*\n{duties}")]
    return Rendered(
        channel=state.user_id,
        text=f"You are {mrkdwn(by_person(state.role))} of incident #{incident.number}",
        blocks=blocks,
    )


def reminder(state: ReminderState) -> Rendered | None:
    incident = state.incident
    if incident.channel_id is None:
        return None
    minutes = incident.options.interval_minutes(incident.severity) or 0
    text = (
        f":alarm_clock: {person(state.commander_id, 'Whoever leads this incident')}, "
        f"incident #{incident.number} ({mrkdwn(by_person(incident.severity))}) is due an update "
        f"(every {minutes_text(minutes)}). Post one with `/incident update <text>`."
    )
    blocks: list[Block] = [_section(text)]
    note = _reminder_note(state)
    if note:
        blocks.append(ContextBlock(elements=[_md(note)]))
    else:
        blocks.append(
            ActionsBlock(
                block_id=f"incidents.reminder.{state.id}",
                elements=[
                    ButtonElement(
                        text=f"Snooze {SNOOZE_MINUTES} min",
                        action_id=SNOOZE,
                        value=f"{incident.id}:{state.id}",
                    )
                ],
            )
        )
    return Rendered(
        channel=incident.channel_id,
        text=f"Incident #{incident.number} is due an update",
        blocks=blocks,
    )


def _reminder_note(state: ReminderState) -> str | None:
    """Why the reminder no longer needs its button, if it does not."""
    if not state.incident.is_open:
        return ":white_check_mark: The incident is resolved."
    if state.updated_since:
        return ":white_check_mark: An update was posted."
    if state.snoozed_until is not None:
        until = local_time(state.snoozed_until)
        return f":zzz: Snoozed by {person(state.snoozed_by)} until {until}."
    return None


def topic(state: IncidentState) -> str:
    """The channel topic: a courtesy for people reading the channel list, never read back."""
    head = (
        f"#{state.number} · {text_topic(by_person(state.severity), TOPIC_WORD)} · "
        f"{text_topic(by_person(state.status), TOPIC_WORD)} · "
        f"{text_topic(by_person(state.options.lead_role), TOPIC_WORD)} {person(state.commander)}"
    )
    room = max(0, TOPIC_LIMIT - len(head) - 3)
    return f"{head} · {text_topic(by_person(state.title), room)}"
