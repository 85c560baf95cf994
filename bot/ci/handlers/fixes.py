"""The breakage card's "Ask agents to fix" button and the form it opens: who may press it and
submit the form (the gate's targets, the policy in `bot.ci.service.access`, one rule for both),
the press -> `service.fixes.opening` -> the form (how many attempts, which agent), and the
submission -> `service.fixes.ask` -> an ephemeral answer in the card's channel. A refusal, by
the gate or by the rules, writes nothing and opens nothing."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from slack_bolt.context.ack.async_ack import AsyncAck
from slack_bolt.context.respond.async_respond import AsyncRespond

from bot.agents import service as agents
from bot.ci.models import CiFixRequest
from bot.ci.service import access, fixes
from bot.ci.service.kinds import ASK_AGENTS_ACTION, CREDIT_TASK, FIX_TASK
from bot.ci.service.suspects import listed, users_here
from bot.ci.settings import SECTION as CI
from bot.ci.views.fix_form import CALLBACK, fix_form, form_breakage
from bot.ci.workflows.fixes import FixCredit, FixPreparer
from bot.core.access import record_id
from bot.core.db import transaction
from bot.core.forms import ATTEMPTS, read_agent_fields
from bot.core.gate import Incoming, incoming_of, one
from bot.core.replies import open_modal, tell

if TYPE_CHECKING:
    from bot.feature import FeatureContext


def breakage_number(action: dict[str, Any]) -> int | None:
    """The breakage id the button carries; None for anything our button would not send. The
    gate's target and the listener read it with this one function."""
    return record_id(action.get("value"))


def _breakage_ref(incoming: Incoming) -> str:
    number = breakage_number(incoming.action)
    return str(number) if number is not None else ""


def _form_ref(incoming: Incoming) -> str:
    number = form_breakage(incoming.metadata())
    return str(number) if number is not None else ""


def register_fixes(rt: FeatureContext) -> None:
    # Read at each check, as the rest of the settings are.
    rt.policy.register(
        access.record_policy(
            lambda: rt.settings.section(CI).routes, lambda: rt.settings.section(CI).authors
        )
    )
    rt.tasks.register(FIX_TASK, FixPreparer(rt))
    rt.tasks.register(CREDIT_TASK, FixCredit(rt))

    @rt.gate.action(ASK_AGENTS_ACTION, one(access.CI_BREAKAGE, access.FIX, _breakage_ref))
    async def ask_agents(
        ack: AsyncAck, body: dict[str, Any], action: dict[str, Any], respond: AsyncRespond
    ) -> None:
        await ack()
        breakage_id = breakage_number(action)
        if breakage_id is None:
            return  # the gate refused it already
        problem = await _open_form(rt, breakage_id, str(body.get("trigger_id") or ""))
        if problem is not None:
            await respond(text=problem, response_type="ephemeral", replace_original=False)

    # The same rule decides the form's submission as the press: the form names its breakage.
    @rt.gate.view(CALLBACK, one(access.CI_BREAKAGE, access.FIX, _form_ref))
    async def ask_submitted(ack: AsyncAck, body: dict[str, Any], view: dict[str, Any]) -> None:
        breakage_id = form_breakage(incoming_of(body).metadata())
        if breakage_id is None:
            await ack()  # the gate refused it already
            return
        backends, most = agents.handoff_choices(rt.settings)
        choice, errors = read_agent_fields(view, backends, most)
        if choice is None:
            await ack(response_action="errors", errors=errors)
            return
        user = str(body["user"]["id"])
        try:
            fix = await _ask(rt, breakage_id, user, choice.attempts, choice.backend)
        except fixes.FixRefused as refusal:  # e.g. someone else's round started meanwhile
            await ack(response_action="errors", errors={ATTEMPTS: str(refusal)[:150]})
            return
        await ack()
        await tell(rt.client, fix.channel, user, _asked(fix))


async def _open_form(rt: FeatureContext, breakage_id: int, trigger_id: str) -> str | None:
    """Open the form when agents may be asked now; else what to say to the person who pressed."""
    config = rt.settings.section(CI)
    try:
        async with rt.sessions() as session:
            start = await fixes.opening(session, breakage_id, settings=rt.settings)
    except fixes.FixRefused as refusal:
        return f":no_entry: {refusal}"
    backends, most = agents.handoff_choices(rt.settings)
    form = fix_form(
        breakage_id,
        f"{start.repo} {start.branch}",
        backends=backends,
        most=most,
        attempts=config.fix_attempts,
        backend=config.fix_backend,
    )
    if not await open_modal(rt.client, trigger_id, form):
        return ":warning: I could not open the form to ask the agents; press the button again."
    return None


async def _ask(
    rt: FeatureContext, breakage_id: int, user: str, attempts: int, backend: str
) -> CiFixRequest:
    config = rt.settings.section(CI)
    async with transaction(rt.sessions) as session:
        suspects = await users_here(session, await listed(session, breakage_id), config.authors)
        return await fixes.ask(
            session,
            breakage_id,
            settings=rt.settings,
            user=user,
            reviewers=list(suspects.values()),
            attempts=attempts,
            backend=backend,
        )


def _asked(fix: CiFixRequest) -> str:
    count = f"{fix.attempts} agent attempts" if fix.attempts != 1 else "an agent"
    review = " and the suspects are asked to review them" if fix.reviewers else ""
    return (
        f":robot_face: Asked {count} to fix this breakage. They work in the card's thread; "
        f"their comparison follows there{review}."
    )
