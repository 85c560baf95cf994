"""How a follow-up sent to the coding agents reads on the incident card and in the postmortem
(pure): the agents' state and, once opened, their pull requests."""

from __future__ import annotations

import re

from slack_sdk.models.blocks import ActionsBlock, Option, SectionBlock, StaticSelectElement
from slack_sdk.models.blocks.basic_components import MarkdownTextObject

from bot.core.projector import Rendered
from bot.core.security import inert
from bot.core.text import by_person, link, mrkdwn, plain, safe_url
from bot.incidents.service.state import FollowUpAgent, FollowUpState, IncidentState, LatePrsState

SEND_FOLLOWUP = "incidents.followup_agent"
MENU_OPTIONS = 100  # Slack's limit for a static select
LATE_SHOWN = 10  # lines of 150 characters and a link: well within a section's 3000
STATES = {
    "waiting": ":hourglass_flowing_sand: waiting for an agent",
    "working": ":robot_face: an agent is working on it",
    "done": ":white_check_mark: the agents are done",
    "failed": ":x: the agents did not finish it",
}


def pr_label(url: str) -> str:
    """`#12` for a pull request's address, else `pull request`."""
    number = re.search(r"/pull/(\d+)", url)
    return f"PR #{number.group(1)}" if number else "pull request"


def _pr_link(url: str) -> str:
    """A link named after the pull request; an address that may not be a link shows as text."""
    return link(url, pr_label(url)) if safe_url(url) else inert(url, 200)


def agent_line(agent: FollowUpAgent) -> str:
    """The follow-up's agents as the card shows them, e.g. `PR #12` or `an agent is working`."""
    if agent.prs:
        several = len(agent.prs) > 1 or agent.attempts > 1
        links = [
            _pr_link(url) + (f" (attempt {attempt})" if several else "")
            for attempt, url in agent.prs
        ]
        return ":link: " + ", ".join(links)
    progress = f" ({agent.finished}/{agent.attempts} attempts over)" if agent.attempts > 1 else ""
    return STATES.get(agent.state, agent.state) + progress


def _markdown_safe(url: str) -> bool:
    return safe_url(url) is not None and not set("()[]") & set(url)


def agent_markdown(agent: FollowUpAgent) -> str:
    """The same for the postmortem's Markdown: links as Markdown links."""
    if agent.prs:
        links = [
            (f"[{pr_label(url)}]({url})" if _markdown_safe(url) else "a pull request")
            + (f" (attempt {attempt})" if agent.attempts > 1 else "")
            for attempt, url in agent.prs
        ]
        return "agent pull request: " + ", ".join(links)
    words = {"waiting": "sent to the coding agents", "working": "a coding agent is on it"}
    return words.get(agent.state, f"sent to the coding agents ({agent.state}, no pull request)")


def late_prs(state: LatePrsState) -> Rendered | None:
    """In the incident's channel: the pull requests opened after the postmortem draft was
    written (it does not link them), to be added to it; None while there are none."""
    late = [
        (text, attempt, url)
        for text, attempt, url in state.prs
        if _markdown_safe(url) and f"]({url})" not in state.draft  # as `agent_markdown` links
    ]
    if not late:
        return None
    lines = [
        f"• {mrkdwn(by_person(text), 150)}: {_pr_link(url)}"
        + (f" (attempt {attempt})" if attempt > 1 else "")
        for text, attempt, url in late[:LATE_SHOWN]
    ]
    if len(late) > LATE_SHOWN:
        lines.append(f"… and {len(late) - LATE_SHOWN} more, on the incident's card")
    heading = (
        f":link: *Opened after the postmortem draft of incident #{state.number} was written*"
        " (add them to it):"
    )
    return Rendered(
        channel=state.channel_id,
        text=f"Pull requests opened after the postmortem of incident #{state.number}",
        blocks=[SectionBlock(text=MarkdownTextObject(text="\n".join([heading, *lines])))],
    )


def send_menu(state: IncidentState) -> ActionsBlock | None:
    """ "Send a follow-up to an agent": the follow-ups not sent yet, when the agents work on
    some repository."""
    waiting: list[FollowUpState] = [f for f in state.followups if f.may_go_to_agent]
    if not state.options.agents or not waiting:
        return None
    options = [
        Option(text=plain(by_person(f.text), 75) or f"Follow-up {f.id}", value=f"{state.id}:{f.id}")
        for f in waiting[:MENU_OPTIONS]
    ]
    menu = StaticSelectElement(
        action_id=SEND_FOLLOWUP, placeholder="Send a follow-up to an agent", options=options
    )
    return ActionsBlock(block_id=f"incidents.followups.{state.id}", elements=[menu])
