"""One access policy: who may see each kind of record and who may do each thing to it.

A feature registers a `RecordPolicy` per record kind: how to load the facts access depends on
(a `Subject`: origin channel, privacy, owners, participants) and a `Rule` per verb. The policy is
consulted in two places only, both in core:

* `bot.core.gate` checks it for every command, button, menu, form and options load before the
  listener runs;
* `Policy.visible` filters what readers show: digests (for everyone who reads their channel),
  `/incident list` and `/standup list` (for the person asking). App Home shows a person only
  their own records and does not go through it.

The verb `see` is special: a person who may not see a record is told it does not exist, so a
refusal never confirms that a private record is there.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Awaitable, Callable, Collection, Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol, TypeVar

from sqlalchemy.ext.asyncio import AsyncSession

from bot.core.text import from_ci, mrkdwn

if TYPE_CHECKING:
    from bot.core.directory import ChannelFacts

SEE = "see"
T = TypeVar("T")


class Membership(Protocol):
    """Who is in a channel and whether it is private (`bot.core.directory.Directory` asks Slack).

    A protocol, so that the policy and every feature's declarations import no Slack client.
    """

    async def facts(self, channel: str) -> ChannelFacts: ...

    def forget(self, channel: str) -> None:
        """Drop a channel's cached answer, so the next question asks Slack again."""


class MembershipUnknown(Exception):
    """Slack did not say who reads a channel, and a reader would rather retry than hide."""


@dataclass(frozen=True)
class Subject:
    """The facts about one record that access depends on."""

    kind: str
    ref: str
    label: str  # how a refusal names it: "incident #12"
    channel: str | None = None  # where it lives or came from
    private: bool = False  # private in itself, whatever its channel
    owners: frozenset[str] = frozenset()  # requester, creator, owner
    participants: frozenset[str] = frozenset()  # role holders, standup members


@dataclass(frozen=True)
class Actor:
    user: str
    admin: bool


@dataclass(frozen=True)
class Check:
    actor: Actor
    subject: Subject
    directory: Membership


class Rule(ABC):
    """Who may: a predicate with a description that a refusal can quote."""

    description: str = ""

    @abstractmethod
    async def allows(self, check: Check) -> bool: ...

    def __or__(self, other: Rule) -> Rule:
        return AnyOf((self, other))

    def named(self, description: str) -> Rule:
        """The same rule, described in the feature's words for its refusals."""
        return Named(self, description)


class Named(Rule):
    def __init__(self, rule: Rule, description: str) -> None:
        self.rule = rule
        self.description = description

    async def allows(self, check: Check) -> bool:
        return await self.rule.allows(check)


class AnyOf(Rule):
    def __init__(self, rules: tuple[Rule, ...]) -> None:
        self.rules = rules
        parts = [rule.description for rule in self._flat()]
        self.description = (
            ", ".join(parts[:-1]) + f" or {parts[-1]}" if len(parts) > 1 else parts[0]
        )

    def _flat(self) -> list[Rule]:
        flat: list[Rule] = []
        for rule in self.rules:
            flat += rule._flat() if isinstance(rule, AnyOf) else [rule]
        return flat

    async def allows(self, check: Check) -> bool:
        # Stops at the first rule that allows: declarations put the rules that need no Slack
        # lookup (admins, owners, participants, privacy) before the channel rules.
        for rule in self._flat():
            if await rule.allows(check):
                return True
        return False


class _Everyone(Rule):
    description = "anyone in the workspace"

    async def allows(self, check: Check) -> bool:
        return True


class _Admins(Rule):
    description = "admins"

    async def allows(self, check: Check) -> bool:
        return check.actor.admin


class _Owners(Rule):
    description = "its owner"

    async def allows(self, check: Check) -> bool:
        return check.actor.user in check.subject.owners


class _Participants(Rule):
    description = "its participants"

    async def allows(self, check: Check) -> bool:
        return check.actor.user in check.subject.participants


class _NotPrivate(Rule):
    description = "anyone, unless it is private"

    async def allows(self, check: Check) -> bool:
        return not check.subject.private


class _ChannelMembers(Rule):
    description = "members of its channel"

    async def allows(self, check: Check) -> bool:
        channel = check.subject.channel
        if not channel:
            return False
        return check.actor.user in (await check.directory.facts(channel)).members


class _ChannelReaders(Rule):
    """Those who can read the channel the record came from (anyone, for a public channel)."""

    description = "people who can read its channel"

    async def allows(self, check: Check) -> bool:
        channel = check.subject.channel
        if check.subject.private or not channel:
            return False
        return await reads(check.directory, channel, Audience.person(check.actor.user))


class Users(Rule):
    """A list from configuration, read at check time (e.g. code-red declarers)."""

    def __init__(self, description: str, source: Callable[[], Collection[str]]) -> None:
        self.description = description
        self.source = source

    async def allows(self, check: Check) -> bool:
        return check.actor.user in self.source()


EVERYONE: Rule = _Everyone()
ADMINS: Rule = _Admins()
OWNERS: Rule = _Owners()
PARTICIPANTS: Rule = _Participants()
NOT_PRIVATE: Rule = _NotPrivate()
CHANNEL_MEMBERS: Rule = _ChannelMembers()
CHANNEL_READERS: Rule = _ChannelReaders()

Loader = Callable[[AsyncSession, str], Awaitable[Subject | None]]


@dataclass(frozen=True)
class RecordPolicy:
    kind: str
    load: Loader  # None when there is no such record
    see: Rule
    verbs: dict[str, Rule]
    missing: str = "There is no such record."  # what someone who may not see it is told

    def rule(self, verb: str) -> Rule:
        if verb == SEE:
            return self.see
        if verb not in self.verbs:
            raise KeyError(f"{self.kind} has no verb {verb!r}; declared: {sorted(self.verbs)}")
        return self.verbs[verb]


class Refused(Exception):
    """An access refusal; its text is shown to the person as it is."""


class NotFound(Refused):
    """No such record, or none the person may see: the two answers are the same on purpose."""


@dataclass(frozen=True)
class Audience:
    """Who will read what a reader shows: one person, or everyone who can read a channel."""

    user: str | None = None
    channel: str | None = None

    @classmethod
    def person(cls, user: str) -> Audience:
        return cls(user=user)

    @classmethod
    def channel_readers(cls, channel: str) -> Audience:
        return cls(channel=channel)


async def reads(membership: Membership, channel: str, audience: Audience) -> bool:
    """Whether everyone in `audience` can read `channel`: the one definition of its readers.

    A public channel is read by anyone in the workspace, a private one by its members, and a
    channel by its own readers. When Slack cannot say, a person is told no (the access default
    is to hide), while a whole channel's readers raise `MembershipUnknown`: what they are shown
    is stored and posted (a digest), so it is better built again later than built with holes.
    """
    if audience.channel is not None and audience.channel == channel:
        return True
    facts = await membership.facts(channel)
    if not facts.known and audience.channel is not None:
        raise MembershipUnknown(f"cannot tell who reads {channel}")
    if not facts.private:
        return True
    return audience.user is not None and audience.user in facts.members


def record_id(ref: object) -> int | None:
    """The id a ref or a payload's value names; None for anything but plain ASCII digits that
    fit a database id (a forged value must not reach a query as a number it cannot hold)."""
    text = str(ref) if isinstance(ref, str | int) and not isinstance(ref, bool) else ""
    return int(text) if text.isascii() and text.isdigit() and len(text) <= 18 else None


def _shown_ref(ref: str) -> str:
    """A ref as a refusal may quote it: it can come from a forged payload, so it is inert."""
    return mrkdwn(from_ci(ref), 40)


class Policy:
    """The registry of record policies, and the two ways it is applied."""

    def __init__(self, directory: Membership, admins: Callable[[], Collection[str]]) -> None:
        self.directory = directory
        self._admins = admins
        self.kinds: dict[str, RecordPolicy] = {}

    def register(self, policy: RecordPolicy) -> None:
        if policy.kind in self.kinds:
            raise ValueError(f"record kind {policy.kind!r} is registered twice")
        self.kinds[policy.kind] = policy

    def actor(self, user: str) -> Actor:
        return Actor(user=user, admin=user in self._admins())

    async def subject(self, session: AsyncSession, kind: str, ref: str) -> Subject | None:
        """The facts about one record, as its kind's policy loads them."""
        return await self.kinds[kind].load(session, ref)

    async def check(
        self, session: AsyncSession, actor: Actor, kind: str, ref: str, verb: str
    ) -> Subject:
        """The subject when `actor` may `verb` it; otherwise `Refused` with the reason."""
        policy = self.kinds[kind]
        subject = await policy.load(session, ref)
        if subject is None:
            raise NotFound(policy.missing.format(ref=_shown_ref(ref)))
        return await self.check_subject(actor, policy, subject, verb)

    async def check_subject(
        self, actor: Actor, policy: RecordPolicy, subject: Subject, verb: str
    ) -> Subject:
        check = Check(actor, subject, self.directory)
        if not await policy.see.allows(check):
            raise NotFound(policy.missing.format(ref=_shown_ref(subject.ref)))
        rule = policy.rule(verb)
        if verb != SEE and not await rule.allows(check):
            owners = " or ".join(f"<@{owner}>" for owner in sorted(subject.owners))
            who = rule.description.replace("{owners}", owners or "its owner")
            raise Refused(f"Only {who} can {verb} {subject.label}.")
        return subject

    async def may_see(self, audience: Audience, subject: Subject) -> bool:
        """Whether everyone in `audience` may see `subject`."""
        if audience.user is not None:
            check = Check(self.actor(audience.user), subject, self.directory)
            return await self.kinds[subject.kind].see.allows(check)
        # A channel is read by all its readers: show only what any of them may see, which is a
        # private record only in its own channel, and otherwise what its channel's readers
        # include everyone who reads this one.
        if subject.private:
            return subject.channel is not None and subject.channel == audience.channel
        return subject.channel is None or await reads(self.directory, subject.channel, audience)

    async def visible(
        self,
        audience: Audience,
        items: Iterable[T],
        subject_of: Callable[[T], Awaitable[Subject | None]],
    ) -> list[T]:
        """The items whose subject `audience` may see, in their order: every reader's filter."""
        kept: list[T] = []
        for item in items:
            subject = await subject_of(item)
            if subject is not None and await self.may_see(audience, subject):
                kept.append(item)
        return kept


CHANNEL = "channel"
CONFIGURE, POST = "configure", "post"


def channel_policy() -> RecordPolicy:
    """A conversation itself: for commands that configure it or aim posts at it."""

    async def load(session: AsyncSession, ref: str) -> Subject | None:
        return Subject(CHANNEL, ref, f"<#{ref}>", channel=ref) if ref else None

    members = ADMINS | CHANNEL_MEMBERS
    return RecordPolicy(
        CHANNEL,
        load,
        see=ADMINS | CHANNEL_READERS,
        verbs={CONFIGURE: members, POST: members},
        missing="I cannot find that channel, or you are not in it.",
    )
