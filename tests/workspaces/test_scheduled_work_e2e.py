"""Scheduled work runs outside any workspace and acts for each record within its own: one
standup tick prompts people of two workspaces, each with that workspace's token."""

from __future__ import annotations

from bot.sandbox.acts.workspaces import BEA, BETA, BETA_GENERAL, add_beta
from bot.sandbox.seed import ALICE, GENERAL
from bot.sandbox.state import TEAM_ID
from bot.standups.handlers import TICK_JOB
from tests.standups.helpers import at, clock_at, command, dm_messages, quiet_bot
from tests.workspaces.helpers import install_in, rows_without_a_workspace


async def test_one_tick_prompts_each_workspaces_people_with_its_own_token(db_url: str) -> None:
    async with clock_at(at("2026-03-06 06:00")) as clock, quiet_bot(db_url, oauth=True) as bot:
        add_beta(bot)
        bot.state.valid_tokens = set()
        home_token = await install_in(bot, TEAM_ID)
        beta_token = await install_in(bot, BETA)
        home = f'create "Home daily" <#{GENERAL}> 09:00 <@{ALICE}> days=mon-fri tz=UTC'
        beta = f'create "Beta daily" <#{BETA_GENERAL}> 09:00 <@{BEA}> days=mon-fri tz=UTC'
        assert "Standup created" in await command(bot, home, ALICE, GENERAL)
        assert "Standup created" in await command(bot, beta, BEA, BETA_GENERAL)

        # The scheduler's job, as it fires: outside any workspace, then within each.
        clock.move(at("2026-03-06 09:00"))
        await bot.rt.scheduler.run_now(TICK_JOB)
        await bot.settle()
        for person, name in ((ALICE, "Home daily"), (BEA, "Beta daily")):
            welcome, prompt = dm_messages(bot, person)  # the install's welcome, then the prompt
            assert "opsbot is installed" in welcome.text
            assert name in prompt.text + str(prompt.blocks)
        for user, token in ((ALICE, home_token), (BEA, beta_token)):
            channel = bot.state.im_with(user)
            assert channel is not None
            posted = [
                c for c in bot.state.calls_to("chat.postMessage")
                if c.args.get("channel") in (channel.id, user)
            ]  # fmt: skip
            assert posted and {c.token for c in posted} == {token}
        assert [c.method for c in bot.state.calls if not c.ok and c.method != "auth.test"] == []

        # What the tick wrote belongs to each standup's workspace.
        assert await rows_without_a_workspace(bot) == {}
