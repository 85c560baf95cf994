"""What a breakage's card and thread say of the agents asked to fix it (pure)."""

from __future__ import annotations

from slack_sdk.models.blocks import ActionsBlock, Block, ButtonElement, ContextBlock
from slack_sdk.models.blocks.basic_components import MarkdownTextObject

from bot.ci.service.cards import BreakageState
from bot.ci.service.fixes import FAILED, HANDED, PREPARING, FixInfo
from bot.ci.service.kinds import ASK_AGENTS_ACTION
from bot.ci.views.text import mention
from bot.core.security import inert

ASK_AGENTS = ASK_AGENTS_ACTION
ASK_LABEL = "Ask agents to fix"


def _plural(count: int, word: str) -> str:
    return f"{count} {word}{'s' if count != 1 else ''}"


def _attempts(numbers: tuple[int, ...]) -> str:
    named = [f"attempt {n}" for n in numbers]
    return named[0] if len(named) == 1 else ", ".join(named[:-1]) + " and " + named[-1]


def _branch(fix: FixInfo, attempt: int) -> str:
    branch = dict(fix.branches).get(attempt)
    return f" (`{inert(branch, 120)}`)" if branch else ""


def credit_text(fix: FixInfo) -> str:
    """Which of the agents' attempts the green commit holds."""
    if not fix.credited:
        return "_checking which of the agents' attempts fixed it…_"
    if not fix.fixed_by:
        attempts = _plural(fix.attempts, "attempt")
        if fix.credit_note:  # none was found in it, but not for want of looking: say why
            why = inert(fix.credit_note, 200)
            return f"None of the agents' {attempts} is credited with the fix ({why})."
        return f"None of the agents' {attempts} is in the fix."
    branches = "".join(_branch(fix, n) for n in fix.fixed_by[:1]) if len(fix.fixed_by) == 1 else ""
    return f"Fixed by the agents' {_attempts(fix.fixed_by)}{branches}."


def _progress(fix: FixInfo) -> str:
    who = mention(fix.requested_by) or "Someone"
    asked = f":robot_face: {who} asked {_plural(fix.attempts, 'agent attempt')} to fix this"
    if fix.status == PREPARING:
        return f"{asked}: gathering the failing jobs, their logs and the suspects' diff…"
    if fix.status == FAILED:
        return f"{asked}, but they could not start: {inert(fix.problem or 'unknown reason', 300)}"
    green = f"; CI is green on {_attempts(fix.ci_green)}" if fix.ci_green else ""
    if fix.running:
        done = f" ({fix.finished} done)" if fix.finished else ""
        return f"{asked}: they are working in this thread{done}{green}."
    return (
        f"{asked}: all {_plural(fix.attempts, 'attempt')} are done, compared in the thread{green}."
    )


def fix_blocks(state: BreakageState) -> list[Block]:
    """The card's line about the agents and, while it is red, its button."""
    blocks: list[Block] = []
    fix = state.fix
    if fix is not None:
        over = state.status != "open" and fix.status == HANDED
        lines = [credit_text(fix) if over else _progress(fix)]
        if fix.left_out and state.status == "open":
            lines.append(f"_Not given to the agents: {inert(fix.left_out, 300)}_")
        blocks.append(ContextBlock(elements=[MarkdownTextObject(text="\n".join(lines))]))
    if state.status == "open" and state.fixable and (fix is None or not fix.running):
        button = ButtonElement(text=ASK_LABEL, action_id=ASK_AGENTS, value=str(state.id))
        blocks.append(ActionsBlock(block_id=f"ci.fix.{state.id}", elements=[button]))
    return blocks


def recovery_credit(state: BreakageState) -> str:
    """The recovery line's word on the agents, when they were asked."""
    if state.fix is None or state.fix.status != HANDED:
        return ""
    return " " + credit_text(state.fix)
