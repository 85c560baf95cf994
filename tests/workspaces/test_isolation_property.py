"""Property: whatever the interleaving of commands from two workspaces, nothing of one is
written for, shown to, posted in or counted by the other.

Each run draws a random interleaving (seeded, so a failure replays) of incident and standup
commands by people of two installed workspaces, with numbers that may name the other
workspace's records. Every name a workspace creates carries its tag, so any leak is a tag seen
in the wrong workspace: in an answer, a message, a view, or a row.
"""

from __future__ import annotations

import json
import random

import pytest
from sqlalchemy import select

from bot.core.projector import Projection
from bot.incidents.models import Incident, TimelineEntry
from bot.sandbox.harness import BotUnderTest, running_bot
from bot.sandbox.seed import ALICE, GENERAL
from bot.sandbox.state import TEAM_ID
from tests.workspaces.helpers import install_in, rows_without_a_workspace
from tests.workspaces.test_two_workspaces_e2e import (
    BEA,
    BETA,
    BETA_GENERAL,
    CONFIG,
    add_beta,
)

WHO = {TEAM_ID: (ALICE, GENERAL, "alpha"), BETA: (BEA, BETA_GENERAL, "beta")}
STEPS = 14


def command(rng: random.Random, tag: str, step: int) -> tuple[str, str]:
    number = rng.randint(1, 6)  # may be the other workspace's incident
    return rng.choice(
        [
            ("/incident", f"declare {tag}-outage-{step} sev2"),
            ("/incident", f"declare {tag}-outage-{step} sev2"),
            ("/incident", "list"),
            ("/incident", f"note #{number} {tag}-note-{step}"),
            ("/incident", f"update #{number} {tag}-update-{step}"),
            ("/standup", f'create "{tag}-daily-{step}" <#GENERAL_OF> 09:30 <@ME>'),
            ("/standup", "list"),
        ]
    )


def other(team: str) -> str:
    return BETA if team == TEAM_ID else TEAM_ID


def texts_of(payload: object) -> str:
    return json.dumps(payload, default=str)


async def run_interleaving(bot: BotUnderTest, seed: int) -> None:
    rng = random.Random(seed)
    for step in range(STEPS):
        team = rng.choice([TEAM_ID, BETA])
        user, channel, tag = WHO[team]
        name, text = command(rng, tag, step)
        text = text.replace("GENERAL_OF", channel).replace("ME", user)
        before = len(bot.state.ephemerals)
        response = await bot.slack.command(name, text, user=user, channel=channel)
        assert response.status_code == 200, response.text
        await bot.settle()
        shown = response.text + texts_of([e.__dict__ for e in bot.state.ephemerals[before:]])
        stranger = WHO[other(team)][2]
        assert f"{stranger}-" not in shown, (seed, step, text, shown)


async def assert_isolated(bot: BotUnderTest) -> None:
    state = bot.state
    # Posted: every message in a workspace's channels is free of the other's names.
    for channel in state.channels.values():
        stranger = WHO[other(channel.team_id)][2] if channel.team_id in WHO else None
        for message in state.log.top_level(channel.id):
            replies = state.replies(channel.id, message.ts)
            for shown in (message, *replies):
                body = texts_of([shown.text, shown.blocks])
                assert stranger is None or f"{stranger}-" not in body, (channel.id, body)
    # Views: each person's App Home and modals show only their workspace's names.
    for user, view in {**state.home_views, **state.views}.items():
        owner = state.users.get(getattr(view, "user", user))
        if owner is not None and owner.team_id in WHO:
            assert f"{WHO[other(owner.team_id)][2]}-" not in texts_of(view.__dict__)
    # Calls: none was refused for reaching the other workspace.
    assert [c.method for c in state.calls if c.error == "channel_not_found"] == []
    # Rows: each belongs to the workspace whose names it holds.
    async with bot.rt.sessions() as session:
        incidents = (
            await session.execute(select(Incident.id, Incident.title, Incident.team_id))
        ).all()
        owner_of = {number: team for number, _title, team in incidents}
        for _number, title, team in incidents:
            assert title.startswith(WHO[team][2] + "-")
        entries = (
            await session.execute(
                select(TimelineEntry.incident_id, TimelineEntry.text, TimelineEntry.team_id)
            )
        ).all()
        for incident_id, text, team in entries:
            assert team == owner_of[incident_id] and f"{WHO[other(team)][2]}-" not in text
        views = (
            await session.execute(select(Projection.kind, Projection.record_id, Projection.team_id))
        ).all()
        for kind, record_id, team in views:
            if kind.startswith("incidents.") and record_id.isdigit() and int(record_id) in owner_of:
                assert team == owner_of[int(record_id)], (kind, record_id, team)
    assert await rows_without_a_workspace(bot) == {}


@pytest.mark.parametrize("seed", [1, 2, 3])
async def test_random_interleavings_of_two_workspaces_never_cross(db_url: str, seed: int) -> None:
    async with running_bot(db_url, oauth=True, **CONFIG) as bot:
        add_beta(bot)
        bot.state.valid_tokens = set()
        await install_in(bot, TEAM_ID)
        await install_in(bot, BETA)
        await run_interleaving(bot, seed)
        await assert_isolated(bot)
