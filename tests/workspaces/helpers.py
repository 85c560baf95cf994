"""Helpers for the tests of several workspaces: installing through the real routes, and finding
what was written outside any workspace."""

from __future__ import annotations

from sqlalchemy import func, select

from bot.core.departures import INCLUDE_DEPARTED
from bot.core.tasks import Task
from bot.core.workspaces import UNKNOWN, scoped_models
from bot.sandbox.harness import BotUnderTest
from tests.workspaces.test_oauth_install_e2e import add_to_slack, approve


async def install_in(bot: BotUnderTest, team: str) -> str:
    """An admin of `team` (a workspace or an org) installs the app from the install page;
    the bot token it was given."""
    link, _query = await add_to_slack(bot)
    page = await bot.http.get(await approve(f"{link}&team={team}"))
    assert page.status_code == 200, page.text
    (token,) = [
        t.token
        for t in bot.state.oauth.installed_tokens()
        if t.team_id == team or (t.team_id is None and t.enterprise_id == team)
    ]
    return token


async def say(bot: BotUnderTest, text: str, user: str, channel: str) -> str:
    """`/incident <text>` by `user` in `channel`, once its work is done: what they were told."""
    before = len(bot.state.ephemerals)
    response = await bot.slack.command("/incident", text, user=user, channel=channel)
    assert response.status_code == 200, response.text
    await bot.settle()
    return "\n".join(e.text for e in bot.state.ephemerals[before:]) + response.text


async def rows_without_a_workspace(bot: BotUnderTest) -> dict[str, int]:
    """Rows of workspace tables written outside any workspace, by table; the org's CI tasks
    (finding a breakage's suspects) are the only work that may be."""
    found: dict[str, int] = {}
    async with bot.rt.sessions() as session:
        for model in scoped_models():
            query = select(func.count()).select_from(model).where(model.team_id == UNKNOWN)
            if model is Task:
                query = query.where(Task.kind.not_like("ci.%"))
            count = await session.scalar(query, execution_options={INCLUDE_DEPARTED: True})
            if count:
                found[model.__tablename__] = int(count)
    return found
