"""Steps of the ci feature that run transactions and call GitHub or Slack, registered by
`handlers`: storing the webhook deliveries that arrive together, finding who the suspects of a
breakage are, and the periodic pass over open breakages (`STILL_RED_JOB`).

Beside them: `fixes` (handing a breakage to coding agents, and crediting the attempt that
fixed it).
"""

from __future__ import annotations

import logging
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

from slack_sdk.errors import SlackApiError

from bot.agents import service as agents
from bot.ci import github
from bot.ci.github import api
from bot.ci.models import CiSuspect
from bot.ci.service import Ingested, record_run, suspects, upkeep
from bot.ci.service.events import RunEvent
from bot.ci.service.fixes import give_up_crediting
from bot.ci.settings import SECTION as CI
from bot.ci.settings import CiRoute
from bot.config import reveal
from bot.core import workspaces
from bot.core.db import transaction
from bot.core.ledger import MAX_KEY, claim_many, release
from bot.core.workspaces import Workspace

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

    from bot.feature import FeatureContext

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Delivery:
    """One verified, parsed and routed run, waiting to be stored."""

    provider: str
    key: str
    event: RunEvent
    route: CiRoute
    # The routes of the same branch in other workspaces: the breakage is posted there too.
    elsewhere: tuple[CiRoute, ...] = ()


# A delivery already claimed: the sender's retry of something stored (a run stored again under
# another delivery id is the service's "duplicate").
REDELIVERED = Ingested("redelivered")
# A run that could not be stored: its claim is given back, and the sender retries.
FAILED = Ingested("failed")


async def store_deliveries(
    sessions: async_sessionmaker[AsyncSession], deliveries: list[Delivery]
) -> list[Ingested]:
    """Claim every delivery in one statement per provider, then record each fresh one's run in
    its own savepoint, in arrival order, all in one transaction."""
    async with transaction(sessions) as session:
        fresh: set[tuple[str, str]] = set()
        for provider in dict.fromkeys(d.provider for d in deliveries):
            keys = [d.key for d in deliveries if d.provider == provider]
            fresh |= {(provider, key) for key in await claim_many(session, provider, keys)}
        results = []
        for delivery in deliveries:
            claimed = (delivery.provider, delivery.key[:MAX_KEY])
            if claimed in fresh:
                fresh.discard(claimed)  # the same key twice in one batch is one delivery
                results.append(await _record_alone(session, delivery))
            else:
                results.append(REDELIVERED)
        return results


async def _record_alone(session: AsyncSession, delivery: Delivery) -> Ingested:
    try:
        async with session.begin_nested():
            return await record_run(
                session, delivery.event, delivery.route, elsewhere=delivery.elsewhere
            )
    except Exception:
        log.exception("could not store %s delivery %s", delivery.provider, delivery.key)
        await release(session, delivery.provider, delivery.key)
        return FAILED


async def store_attempt_run(
    sessions: async_sessionmaker[AsyncSession], provider: str, key: str, event: RunEvent
) -> Ingested:
    """A run on a coding agent's attempt branch (`opsbot/agent-<request>-<attempt>`) is told to
    the agents, which mark the attempt in their comparison; it opens no breakage. Effects:
    "attempt" (told), "not_an_attempt" (no attempt of that repository has the branch)."""
    async with transaction(sessions) as session:
        if not await claim_many(session, provider, [key]):
            return REDELIVERED
        run = agents.BranchRun(
            repo=event.repo,
            branch=event.branch,
            sha=event.sha,
            workflow=event.workflow[:255],
            outcome=event.outcome,
            url=event.url,
            created_at=event.created_at,
        )
        told = await agents.record_branch_run(session, run)
    return Ingested("attempt" if told else "not_an_attempt")


async def sweep_open_breakages(rt: FeatureContext) -> None:
    """Mention route owners of breakages red too long; post the cards whose mute ended; settle
    the crediting of agents' attempts that never decided (`give_up_crediting`)."""
    async with transaction(rt.sessions) as session:
        await upkeep.sweep_open_breakages(
            session, rt.settings.section(CI).routes, rt.settings.section(CI).still_red_hours
        )
        await give_up_crediting(session)


async def find_suspects(rt: FeatureContext, payload: dict[str, Any]) -> None:
    """Widen the suspects with GitHub's compare API (when a token is set), then find who they
    are on Slack in each workspace the breakage is posted in. Every failure leaves the payload's
    suspects in place; safe to run again (the workspaces already done answer from their cache)."""
    breakage_id = int(payload["breakage_id"])
    async with rt.sessions() as session:
        job = await suspects.job(session, breakage_id)
    if job is None or job.done:
        return
    token = reveal(rt.settings.section(CI).github_token)
    commits = None
    base, head = job.last_green_sha, job.first_red_sha
    if job.provider == "github" and token and base and base != head:
        api_url = rt.settings.section(CI).github_api_url
        found = await api.compare(job.repo, base, head, token, api_url)
        commits = [github.compare_commit(item) for item in found.commits] if found else None
    async with transaction(rt.sessions) as session:
        if commits:
            await suspects.replace(session, breakage_id, commits)
        listed = await suspects.listed(session, breakage_id)
        teams = await suspects.posted_teams(session, breakage_id)
    for team in teams:
        with _within_post(team):
            await _find_users_here(rt, listed)
    async with transaction(rt.sessions) as session:
        await suspects.finish(session, breakage_id)


def _within_post(team: str) -> AbstractContextManager[object]:
    """The workspace of a breakage's post; a post naming none ("", one workspace by
    SLACK_BOT_TOKEN) is looked up where the task runs, as it always was."""
    return workspaces.within(Workspace(team)) if team else nullcontext()


async def _find_users_here(rt: FeatureContext, listed: list[CiSuspect]) -> None:
    """Look up, with this workspace's token, the suspects' emails that its `ci.authors` do not
    name and its cache does not know, and cache the answers for this workspace (the views read
    them, `suspects.users_here`). A lookup Slack did not answer is not cached: the next one
    asks again."""
    emails = suspects.to_look_up(listed, rt.settings.section(CI).authors)
    async with rt.sessions() as session:
        known = await suspects.cached(session, emails)
    # Slack is asked outside any transaction, so no database lock waits on the network.
    found = {email: await _lookup(rt, email) for email in emails if email not in known}
    answered = {email: user for email, user in found.items() if user is not False}
    if not answered:
        return
    async with transaction(rt.sessions) as session:
        for email, user in answered.items():
            await suspects.remember(session, email, user)


async def _lookup(rt: FeatureContext, email: str) -> str | None | Literal[False]:
    """The Slack user with this email, None when there is none, False when Slack did not say."""
    try:
        response = await rt.client.users_lookupByEmail(email=email)
    except SlackApiError as error:
        if error.response.get("error") == "users_not_found":
            return None
        log.warning("users.lookupByEmail failed: %s", error.response.get("error"))
        return False
    user = response.get("user") or {}
    return str(user["id"]) if user.get("id") and not user.get("deleted") else None
