"""Slack answers 30% of calls with 500, 429 or a timeout: the final state is still right."""

from __future__ import annotations

from bot.sandbox import seed
from bot.sandbox.harness import running_bot
from tests.faults.scenes import (
    CONFIG,
    bot_posts,
    ci_delivery,
    incident_channel,
    post_ci,
    view_tags,
)


async def test_final_state_is_right_when_slack_fails_a_third_of_calls(db_url: str) -> None:
    async with running_bot(db_url, **CONFIG) as bot:
        bot.state.faults.timeout_seconds = 0.3
        kinds = ("server_error", "ratelimited", "timeout")
        # The first calls meet one fault of each kind, whatever the timing; then 30% at random.
        # (How many calls the bot makes depends on how changes coalesce, so random faults
        # alone may fire only a few times.)
        for kind in kinds:
            bot.state.faults.fail_next("*", kind)
        bot.state.faults.random(rate=0.3, kinds=kinds, seed=11)
        declared = await bot.slack.command(
            "/incident", "declare Payments are slow sev2", user=seed.ALICE, channel=seed.GENERAL
        )
        assert declared.status_code == 200
        for delivery in (
            ci_delivery(201, "a", "success", 0),
            ci_delivery(202, "b", "failure", 10),
            ci_delivery(203, "c", "failure", 20),
            ci_delivery(204, "d", "success", 30),
        ):
            assert (await post_ci(bot.http, delivery)).status_code in (200, 202)
        await bot.settle(timeout=120)
        channel = incident_channel(bot)
        for status in ("identified", "mitigated"):
            changed = await bot.slack.command(
                "/incident", f"status {status}", user=seed.ALICE, channel=channel.id
            )
            assert changed.status_code == 200
        await bot.settle(timeout=120)
        failed = [c for c in bot.state.calls if c.fault]
        assert {c.fault for c in failed} == set(kinds), "a kind of fault never fired"
        assert len(failed) >= 5, "the fault injection did not fire"

        tags = view_tags(bot)
        assert len(tags) == len(set(tags)), "a view was posted twice"
        [card] = [m for m in bot_posts(bot, channel.id) if m.pinned]
        assert "mitigated" in card.text.lower() or "mitigated" in str(card.blocks).lower()
        [announcement] = bot_posts(bot, seed.INCIDENTS)
        assert "mitigated" in str(announcement.blocks).lower()
        [ci_card] = bot_posts(bot, seed.CI_ALERTS)
        assert "green again" in ci_card.text.lower()
