"""A channel directory with fixed answers, for tests that exercise readers without Slack."""

from __future__ import annotations

from bot.core.access import Policy
from bot.core.directory import ChannelFacts, Directory


class FixedDirectory(Directory):
    """Channels are public unless listed in `private` (channel -> members)."""

    def __init__(self, private: dict[str, set[str]] | None = None) -> None:
        super().__init__(client=None, ttl=60)  # type: ignore[arg-type]
        self.private = private or {}

    async def facts(self, channel: str) -> ChannelFacts:
        members = self.private.get(channel)
        return ChannelFacts(private=members is not None, members=frozenset(members or ()))


def fixed_policy(
    private: dict[str, set[str]] | None = None, admins: tuple[str, ...] = ()
) -> Policy:
    """The real record policies of every feature, on a directory with fixed answers."""
    from bot.agents.service.access import record_policy as agents_policy
    from bot.codered.service.access import record_policy as codered_policy
    from bot.codered.service.options import Options as CodeRedOptions
    from bot.config import Settings
    from bot.incidents.service.access import record_policy as incidents_policy
    from bot.standups.service.access import record_policies as standups_policies

    settings = Settings(admins=list(admins))
    policy = Policy(FixedDirectory(private), admins=lambda: admins)
    policy.register(incidents_policy())
    policy.register(agents_policy(lambda: admins))
    for standups_policy in standups_policies():
        policy.register(standups_policy)
    policy.register(codered_policy(CodeRedOptions.from_settings(settings)))
    return policy
