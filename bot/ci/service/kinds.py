"""Names shared by the service, the loaders and the handlers (projector kinds, task kinds)."""

CARD = "ci.breakage"  # one card per breakage, updated in place
RUN_LINE = "ci.run_line"  # one thread line per later failing run
RECOVERY_LINE = "ci.recovery"  # one thread line when the breakage ends
SUSPECTS_LINE = "ci.suspects"  # one thread line mentioning each suspect once
OWNERS_LINE = "ci.owners"  # one thread line when still red after ci.still_red_hours
SUSPECTS_TASK = "ci.suspects"
STILL_RED_JOB = "ci.still_red"
FIX_TASK = "ci.fix"  # gather a breakage's jobs, logs and diff, and hand it to the agents
CREDIT_TASK = "ci.fix_credit"  # once green: which of the agents' attempts is in the fix
ASK_AGENTS_ACTION = "ci.ask_agents"  # the card's "Ask agents to fix" button
ASK_AGENTS_FORM = "ci.ask_agents.form"  # the form that button opens: attempts, agent


def post_key(record_id: int, team: str) -> str:
    """A CI view's record id in one workspace: the id, and `@team` when its route names one
    (a breakage routed to two workspaces has a card, and thread lines, in each)."""
    return f"{record_id}@{team}" if team else str(record_id)


def split_key(key: str) -> tuple[int, str]:
    """(record id, team) of a `post_key`."""
    record, _, team = key.partition("@")
    return int(record), team
