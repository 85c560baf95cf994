"""The breakage card's "Ask agents to fix" button: who may press it (the gate's targets, the
policy in `bot.ci.service.access`), and the press -> `service.fixes.ask` -> an ephemeral answer.
A refusal, by the gate or by the rules, writes nothing."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from slack_bolt.context.ack.async_ack import AsyncAck
from slack_bolt.context.respond.async_respond import AsyncRespond

from bot.ci.service import access, fixes
from bot.ci.service.kinds import ASK_AGENTS_ACTION, CREDIT_TASK, FIX_TASK
from bot.ci.service.suspects import listed, users_here
from bot.ci.settings import SECTION as CI
from bot.ci.workflows.fixes import FixCredit, FixPreparer
from bot.core.db import transaction
from bot.core.gate import Incoming, one

if TYPE_CHECKING:
    from bot.feature import FeatureContext


def breakage_number(action: dict[str, Any]) -> int | None:
    """The breakage id the button carries; None for anything our button would not send. The
    gate's target and the listener read it with this one function."""
    value = str(action.get("value") or "")
    return int(value) if value.isascii() and value.isdigit() and len(value) < 12 else None


def _breakage_ref(incoming: Incoming) -> str:
    number = breakage_number(incoming.action)
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
        text = await _ask(rt, breakage_id, str(body["user"]["id"]))
        await respond(text=text, response_type="ephemeral", replace_original=False)


async def _ask(rt: FeatureContext, breakage_id: int, user: str) -> str:
    config = rt.settings.section(CI)
    try:
        async with transaction(rt.sessions) as session:
            suspects = await users_here(session, await listed(session, breakage_id), config.authors)
            fix = await fixes.ask(
                session,
                breakage_id,
                settings=rt.settings,
                user=user,
                reviewers=list(suspects.values()),
                attempts=config.fix_attempts,
            )
    except fixes.FixRefused as refusal:
        return f":no_entry: {refusal}"
    count = f"{fix.attempts} agent attempts" if fix.attempts != 1 else "an agent"
    review = " and the suspects are asked to review them" if fix.reviewers else ""
    return (
        f":robot_face: Asked {count} to fix this breakage. They work in the card's thread; "
        f"their comparison follows there{review}."
    )
