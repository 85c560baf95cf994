"""Default workspace contents, enough for `opsbot demo` to have people and channels."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .state import SandboxState

ALICE = "U0ALICE"
BOB = "U0BOB"
CAROL = "U0CAROL"
DAVE = "U0DAVE"
ERIN = "U0ERIN"

GENERAL = "C0GENERAL"
INCIDENTS = "C0INCIDENTS"
CI_ALERTS = "C0CIALERTS"
STANDUP = "C0STANDUP"
RANDOM = "C0RANDOM"
LEADERSHIP = "C0LEADERS"

# Spread across time zones so standup and digest scheduling gets exercised
_PEOPLE: list[tuple[str, str, str, str, bool, str]] = [
    (ALICE, "alice", "Alice Martin", "Europe/Paris", True, "Engineering Manager"),
    (BOB, "bob", "Bob Chen", "America/Los_Angeles", False, "Backend Engineer"),
    (CAROL, "carol", "Carol Okafor", "Africa/Lagos", False, "SRE"),
    (DAVE, "dave", "Dave Singh", "Asia/Kolkata", False, "Frontend Engineer"),
    (ERIN, "erin", "Erin Walsh", "Australia/Sydney", False, "QA Engineer"),
]


def seed_defaults(state: SandboxState) -> None:
    for user_id, name, real_name, tz, is_admin, title in _PEOPLE:
        state.add_user(
            user_id,
            name,
            email=f"{name}@example.com",
            tz=tz,
            is_admin=is_admin,
            real_name=real_name,
            title=title,
        )
    everyone = [p[0] for p in _PEOPLE]
    bot = state.bot_user_id
    state.add_channel(
        "general",
        [*everyone, bot],
        id=GENERAL,
        is_general=True,
        creator=ALICE,
        purpose="Company-wide announcements",
    )
    state.add_channel(
        "incidents", [*everyone, bot], id=INCIDENTS, creator=ALICE, topic="No open incidents"
    )
    state.add_channel("ci-alerts", [ALICE, BOB, DAVE, bot], id=CI_ALERTS, creator=BOB)
    state.add_channel("standup", [*everyone, bot], id=STANDUP, creator=ALICE)
    # The bot is deliberately absent from these two to exercise not_in_channel paths
    state.add_channel("random", everyone, id=RANDOM, creator=BOB)
    state.add_channel("leadership", [ALICE, CAROL], is_private=True, id=LEADERSHIP, creator=ALICE)
    state.add_usergroup("oncall", [ALICE, BOB], name="On-call", id="S0ONCALL")
    state.add_usergroup("sre", [CAROL, DAVE, ERIN], name="SRE", id="S0SRE")
    state.add_usergroup("backend", [BOB, CAROL], name="Backend", id="S0BACKEND")
    state.default_user = ALICE
    state.default_channel = GENERAL
