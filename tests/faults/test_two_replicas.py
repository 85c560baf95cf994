"""Two bot processes on one database: work runs once, cards are posted once."""

from __future__ import annotations

import asyncio
import datetime as dt

from sqlalchemy import func, select

from bot.core.ledger import ProcessedEvent
from bot.sandbox import seed
from bot.sandbox.harness import running_bot
from tests.faults.scenes import CONFIG, bot_posts, ci_delivery, post_ci, view_tags


async def test_two_replicas_share_the_work(db_url: str) -> None:
    async with (
        running_bot(db_url, **CONFIG) as one,
        running_bot(db_url, sandbox=one.sandbox, **CONFIG) as two,
    ):
        # GitHub redelivers a webhook to whichever replica the load balancer picks.
        for delivery in (ci_delivery(301, "a", "success", 0), ci_delivery(302, "b", "failure", 5)):
            first, second = await asyncio.gather(
                post_ci(one.http, delivery), post_ci(two.http, delivery)
            )
            assert {first.status_code, second.status_code} <= {200, 202}
        # Slack retries an event on another replica.
        ts = one.state.post(seed.GENERAL, seed.BOB, "deploying now").ts
        await one.slack.user_react(seed.GENERAL, ts, seed.CAROL, "eyes")
        envelope = one.slack.last_envelope
        two.slack.last_envelope = envelope
        await two.slack.redeliver()
        # Both replicas' schedulers fire the same job for the same minute.
        at = dt.datetime(2026, 11, 23, 3, 17, 5, tzinfo=dt.UTC)
        fired = await asyncio.gather(
            one.rt.scheduler.fire("core.prune_ledger", at),
            two.rt.scheduler.fire("core.prune_ledger", at),
        )
        await one.settle()
        await two.settle()
        await one.settle()

        assert sorted(fired) == [False, True]
        async with one.rt.sessions() as session:
            claims = await session.scalar(
                select(func.count())
                .select_from(ProcessedEvent)
                .where(ProcessedEvent.source == "slack")
            )
        assert claims == 1
        assert len(bot_posts(one, seed.CI_ALERTS)) == 1
        tags = view_tags(one)
        assert len(tags) == len(set(tags)), "a card was posted twice"
