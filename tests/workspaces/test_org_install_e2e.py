"""An Enterprise Grid org installs the app once: one org token serves every workspace of the
org, and records still belong to the workspace they come from (SQLite and PostgreSQL)."""

from __future__ import annotations

from sqlalchemy import select

from bot.incidents.models import Incident
from bot.sandbox.harness import BotUnderTest, running_bot
from tests.workspaces.helpers import install_in, say

ORG, EAST, WEST = "E0STARSHIP", "T0EAST", "T0WEST"
EVE, WES = "W0EVE", "W0WES"  # org-wide user ids
EAST_CHANNEL, WEST_CHANNEL = "C0EAST", "C0WEST"


def add_org(bot: BotUnderTest) -> None:
    state = bot.state
    state.add_enterprise(ORG, "Starship")
    state.add_workspace(EAST, "East", ORG)
    state.add_workspace(WEST, "West", ORG)
    state.add_user(EVE, "eve", team=EAST)
    state.add_user(WES, "wes", team=WEST)
    org_bot = state.enterprises[ORG].bot_user_id
    state.add_channel("east", [EVE, org_bot], id=EAST_CHANNEL, team=EAST)
    state.add_channel("west", [WES, org_bot], id=WEST_CHANNEL, team=WEST)


async def test_one_org_install_serves_two_workspaces_of_the_org_with_one_token(
    db_url: str,
) -> None:
    async with running_bot(db_url, oauth=True) as bot:
        add_org(bot)
        bot.state.valid_tokens = set()
        await install_in(bot, ORG)
        (issued,) = bot.state.oauth.installed_tokens()
        assert issued.is_enterprise_install and issued.team_id is None
        installed_at = len(bot.state.calls)

        assert "declared" in (await say(bot, "declare Engine fire sev1", EVE, EAST_CHANNEL)).lower()
        assert "declared" in (await say(bot, "declare Hull breach sev2", WES, WEST_CHANNEL)).lower()

        async with bot.rt.sessions() as session:
            rows = (
                await session.execute(
                    select(Incident.title, Incident.team_id, Incident.enterprise_id)
                )
            ).all()
        assert sorted(rows) == [("Engine fire", EAST, ORG), ("Hull breach", WEST, ORG)]
        east_sees = await say(bot, "list", EVE, EAST_CHANNEL)
        assert "Engine fire" in east_sees and "Hull breach" not in east_sees

        since = [c for c in bot.state.calls[installed_at:]]
        assert since and {call.token for call in since} == {issued.token}
        assert all(call.ok for call in since), [(c.method, c.error) for c in since if not c.ok]
        # Each incident's channel was made in its own workspace of the org.
        created = [c for c in since if c.method == "conversations.create"]
        assert sorted(str(c.args.get("team_id")) for c in created) == [EAST, WEST]
