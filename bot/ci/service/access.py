"""Who may see a CI breakage and ask coding agents to fix it: the feature's declarations for the
access policy.

A breakage is seen by admins, its route's owners, its suspects and whoever reads the channel
its card is posted in (in the workspace asking). Asking agents to fix it is for admins, the
owners of the routes that post it in this workspace, and its suspects as this workspace knows
them (`ci.authors`, or their lookup by email).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.ci.models import CiBreakage, CiBreakagePost, CiPipeline
from bot.ci.service.routing import routes_for
from bot.ci.service.suspects import listed, users_here
from bot.ci.settings import CiRoute
from bot.core import workspaces
from bot.core.access import (
    ADMINS,
    CHANNEL_READERS,
    OWNERS,
    PARTICIPANTS,
    RecordPolicy,
    Subject,
    record_id,
)

CI_BREAKAGE = "ci_breakage"
FIX = "ask agents to fix"


def route_owners(routes: Sequence[CiRoute], repo: str, branch: str, team: str) -> frozenset[str]:
    """The owners of the routes posting this branch's breakages in workspace `team`."""
    tracking = routes_for(routes, repo, branch, branch)
    return frozenset(
        owner for route in tracking if route.team in (None, team) for owner in route.owners
    )


async def _post_channel(session: AsyncSession, breakage: CiBreakage, team: str) -> str:
    posts = await session.execute(
        select(CiBreakagePost.team_id, CiBreakagePost.channel).where(
            CiBreakagePost.breakage_id == breakage.id
        )
    )
    channels = dict(posts.all())
    return channels.get(team) or channels.get("") or breakage.channel


def record_policy(
    routes: Callable[[], Sequence[CiRoute]], authors: Callable[[], Mapping[str, str]]
) -> RecordPolicy:
    async def load(session: AsyncSession, ref: str) -> Subject | None:
        number = record_id(ref)
        breakage = await session.get(CiBreakage, number) if number is not None else None
        pipeline = await session.get(CiPipeline, breakage.pipeline_id) if breakage else None
        if breakage is None or pipeline is None:
            return None
        team = workspaces.current_team()
        suspects = await users_here(session, await listed(session, breakage.id), authors())
        return Subject(
            CI_BREAKAGE,
            ref,
            "this CI breakage",
            channel=await _post_channel(session, breakage, team),
            owners=route_owners(routes(), pipeline.repo, pipeline.branch, team),
            participants=frozenset(suspects.values()),
        )

    fixers = (
        ADMINS | OWNERS.named("the route's owners") | PARTICIPANTS.named("its suspects")
    ).named("the route's owners, its suspects or an admin")
    return RecordPolicy(
        CI_BREAKAGE,
        load,
        see=ADMINS | OWNERS | PARTICIPANTS | CHANNEL_READERS,
        verbs={FIX: fixers},
        missing="That CI breakage no longer exists.",
    )
