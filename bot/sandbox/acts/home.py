"""The App Home scene of `opsbot demo`: Alice opens her home after everything else happened."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

from bot.sandbox.seed import ALICE, BOB

if TYPE_CHECKING:
    from bot.sandbox.harness import BotUnderTest

SECTIONS = ("Your open incidents", "Your agent tasks", "Your standups today", "CI")


async def act(bot: BotUnderTest, out: list[str]) -> None:
    for user in (ALICE, BOB):
        await bot.slack.app_home_opened(user)
    await bot.settle()
    for user in (ALICE, BOB):
        view = bot.state.home_views.get(user)
        if view is None:
            out.append(f"{bot.state.users[user].name}'s App Home was not published.")
            continue
        blocks = view.payload.get("blocks", [])
        banner = "with a code red banner, " if "Code red" in json.dumps(blocks) else ""
        out.append(
            f"{bot.state.users[user].name} opens the App Home: {len(blocks)} blocks, {banner}"
            f"sections {', '.join(SECTIONS)}, each holding only what is theirs."
        )
