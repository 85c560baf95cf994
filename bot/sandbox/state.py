"""The in-memory Slack workspace behind the sandbox Web API."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable, Iterable, Iterator
from datetime import UTC, datetime
from typing import TypeVar
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from . import tenancy
from .faults import Faults
from .ids import IdFactory, TsClock, random_hex
from .messages import MessageLog
from .models import (
    Channel,
    Enterprise,
    Ephemeral,
    File,
    Hook,
    HookPost,
    JsonDict,
    Message,
    RecordedCall,
    ScheduledMessage,
    Trigger,
    User,
    UserGroup,
    View,
    Workspace,
)
from .oauth import OAuthApp
from .ratelimits import RateLimits
from .tenancy import Actor

T = TypeVar("T")

TEAM_ID = "T0SANDBOX"
BOT_USER_ID = "U0OPSBOT"
BOT_ID = "B0OPSBOT"
APP_ID = "A0OPSBOT"


def tz_offset(tz: str, at: float) -> int:
    try:
        offset = ZoneInfo(tz).utcoffset(datetime.fromtimestamp(at, UTC))
    except (ZoneInfoNotFoundError, ValueError):
        return 0
    return int(offset.total_seconds()) if offset is not None else 0


class SandboxState:
    """Everything the fake Slack knows. Mutated by API handlers and by the driver."""

    def __init__(self, *, seed: bool = True, clock: Callable[[], float] = time.time) -> None:
        self.clock = clock
        self.ids = IdFactory()
        self.ts_clock = TsClock(clock)
        # The default workspace; add_workspace and add_enterprise add others
        self.default_workspace = Workspace(TEAM_ID, "Sandbox", "sandbox", None, BOT_USER_ID, BOT_ID)
        self.workspaces: dict[str, Workspace] = {TEAM_ID: self.default_workspace}
        self.enterprises: dict[str, Enterprise] = {}
        # Who the Web API call being answered acts as (None: outside a call, the default)
        self._acting: Actor | None = None
        self.app_id = APP_ID
        self.bot_name = "opsbot"
        self.permalink_base = "https://sandbox.slack.test"
        # None accepts any xoxb-/xoxp- token; a set restricts to exactly those
        self.valid_tokens: set[str] | None = None
        # With chat:write.public Slack lets bots post in public channels they are not in
        self.chat_write_public = False
        # When on, views.open only accepts trigger ids the driver issued, within 3 s
        self.strict_triggers = False
        self.trigger_ttl = 3.0
        self.default_user: str | None = None
        self.default_channel: str | None = None

        self.users: dict[str, User] = {}
        self.usergroups: dict[str, UserGroup] = {}
        self.channels: dict[str, Channel] = {}
        self.log = MessageLog()
        self.views: dict[str, View] = {}
        self.home_views: dict[str, View] = {}
        self.files: dict[str, File] = {}
        self.hooks: dict[str, Hook] = {}
        self.hook_posts: list[HookPost] = []
        self.ephemerals: list[Ephemeral] = []
        self.scheduled: list[ScheduledMessage] = []
        self.triggers: dict[str, Trigger] = {}
        self.calls: list[RecordedCall] = []
        self.faults = Faults()
        # The app's OAuth settings, and the codes and tokens installs have issued
        self.oauth = OAuthApp()
        self.rate_limits = RateLimits()

        self.add_user(BOT_USER_ID, self.bot_name, real_name="OpsBot", is_bot=True)
        self.users[BOT_USER_ID].bot_id = BOT_ID
        if seed:
            from .seed import seed_defaults

            seed_defaults(self)

    # -- workspaces ----------------------------------------------------------------
    # team_id, team_name, team_domain, bot_user_id and bot_id are the default workspace's.

    @property
    def team_id(self) -> str:
        return self.default_workspace.team_id

    @team_id.setter
    def team_id(self, value: str) -> None:
        """Renames the default workspace (its people, channels and tokens follow)."""
        if value != self.default_workspace.team_id:
            tenancy.rename_team(self, self.default_workspace.team_id, value)

    @property
    def team_name(self) -> str:
        return self.default_workspace.name

    @team_name.setter
    def team_name(self, value: str) -> None:
        self.default_workspace.name = value

    @property
    def team_domain(self) -> str:
        return self.default_workspace.domain

    @team_domain.setter
    def team_domain(self, value: str) -> None:
        self.default_workspace.domain = value

    @property
    def bot_user_id(self) -> str:
        return self.default_workspace.bot_user_id

    @property
    def bot_id(self) -> str:
        return self.default_workspace.bot_id

    def add_workspace(
        self,
        team_id: str,
        name: str,
        enterprise_id: str | None = None,
        *,
        domain: str | None = None,
    ) -> Workspace:
        """Another workspace; with `enterprise_id`, one of that Enterprise Grid org's."""
        return tenancy.add_workspace(self, team_id, name, enterprise_id, domain=domain)

    def add_enterprise(
        self, enterprise_id: str, name: str, *, domain: str | None = None, org_install: bool = False
    ) -> Enterprise:
        """An Enterprise Grid org (`org_install`: the app is already installed org-wide)."""
        return tenancy.add_enterprise(
            self, enterprise_id, name, domain=domain, org_install=org_install
        )

    def workspace(self, team_id: str | None = None) -> Workspace:
        """A workspace by id; the default one for None or an unknown id."""
        return tenancy.workspace(self, team_id)

    def share_channel(self, channel_id: str, *team_ids: str) -> Channel:
        return tenancy.share_channel(self, channel_id, *team_ids)

    @property
    def actor(self) -> Actor:
        """Who the Web API call being answered acts as; outside a call, the default bot."""
        return self._acting or tenancy.workspace_actor(self)

    @contextlib.contextmanager
    def acting_as(self, actor: Actor) -> Iterator[Actor]:
        previous, self._acting = self._acting, actor
        try:
            yield actor
        finally:
            self._acting = previous

    def is_app_bot(self, user_id: str) -> bool:
        return user_id in tenancy.app_bots(self)

    # -- time and ids -------------------------------------------------------------

    def now(self) -> float:
        return self.clock()

    def next_ts(self) -> str:
        return self.ts_clock.next()

    def new_id(self, prefix: str) -> str:
        return self.ids.new(prefix)

    # -- people ------------------------------------------------------------------

    def add_user(
        self,
        id: str,
        name: str,
        email: str | None = None,
        tz: str = "UTC",
        is_admin: bool = False,
        *,
        real_name: str | None = None,
        is_bot: bool = False,
        title: str = "",
        team: str | None = None,
    ) -> str:
        self.ids.reserve(id)
        self.users[id] = User(
            id=id,
            name=name,
            real_name=real_name or name.title(),
            email=email,
            tz=tz,
            tz_offset=tz_offset(tz, self.now()),
            is_bot=is_bot,
            is_admin=is_admin,
            title=title,
            team_id=team or self.team_id,
        )
        return id

    def user(self, user_id: str) -> User | None:
        return self.users.get(user_id)

    def user_by_name(self, name: str) -> User | None:
        return next((u for u in self.users.values() if u.name == name.lstrip("@")), None)

    def user_by_email(self, email: str) -> User | None:
        wanted = email.strip().lower()
        return next((u for u in self.users.values() if (u.email or "").lower() == wanted), None)

    def humans(self) -> list[User]:
        return [u for u in self.users.values() if not u.is_bot and not u.deleted]

    def add_usergroup(
        self,
        handle: str,
        users: Iterable[str] = (),
        name: str | None = None,
        id: str | None = None,
        *,
        team: str | None = None,
    ) -> str:
        group_id = id or self.new_id("S")
        self.ids.reserve(group_id)
        self.usergroups[group_id] = UserGroup(
            id=group_id,
            handle=handle,
            name=name or handle.title(),
            users=list(users),
            created=int(self.now()),
            team_id=team or self.team_id,
        )
        return group_id

    # -- conversations -------------------------------------------------------------

    def add_channel(
        self,
        name: str,
        members: Iterable[str] = (),
        is_private: bool = False,
        id: str | None = None,
        *,
        topic: str = "",
        purpose: str = "",
        creator: str | None = None,
        is_general: bool = False,
        team: str | None = None,
        shared_with: Iterable[str] = (),
    ) -> str:
        """A channel of workspace `team` (default: the default one), shared with the
        workspaces `shared_with` of its Enterprise Grid org."""
        channel_id = id or self.new_id("C")
        self.ids.reserve(channel_id)
        now = int(self.now())
        team_id = team or self.team_id
        creator_id = creator or next(iter(members), self.workspace(team_id).bot_user_id)
        self.channels[channel_id] = Channel(
            id=channel_id,
            name=name,
            created=now,
            creator=creator_id,
            is_private=is_private,
            is_general=is_general,
            members=set(members),
            topic=topic,
            topic_creator=creator_id if topic else "",
            topic_last_set=now if topic else 0,
            purpose=purpose,
            purpose_creator=creator_id if purpose else "",
            purpose_last_set=now if purpose else 0,
            team_id=team_id,
        )
        if shared_with:
            self.share_channel(channel_id, *shared_with)
        return channel_id

    def channel(self, channel_id: str) -> Channel | None:
        return self.channels.get(channel_id)

    def channel_by_name(self, name: str) -> Channel | None:
        wanted = name.lstrip("#")
        return next((c for c in self.channels.values() if c.name == wanted and not c.is_im), None)

    def im_with(self, user_id: str) -> Channel | None:
        return next((c for c in self.channels.values() if c.is_im and c.im_user == user_id), None)

    def open_im(self, user_id: str) -> str:
        """The bot's DM channel with a user, created on first use as Slack does."""
        existing = self.im_with(user_id)
        if existing is not None:
            return existing.id
        channel_id = self.new_id("D")
        team = tenancy.team_of_user(self, user_id)
        bot = self.workspace(team).bot_user_id  # the bot of the person's own workspace
        self.channels[channel_id] = Channel(
            id=channel_id,
            name=user_id,
            created=int(self.now()),
            creator=bot,
            is_im=True,
            im_user=user_id,
            members={bot, user_id},
            team_id=team,
        )
        return channel_id

    def bot_is_member(self, channel_id: str) -> bool:
        """The app's bot (of the channel's workspace, or one it is shared with) is in it."""
        channel = self.channels.get(channel_id)
        return channel is not None and tenancy.bot_in(self, channel) is not None

    def display_name(self, channel_id: str) -> str:
        channel = self.channels.get(channel_id)
        if channel is None:
            return channel_id
        if channel.is_im:
            user = self.users.get(channel.im_user or "")
            return f"DM with {user.name if user else channel.im_user}"
        return f"#{channel.name}"

    # -- messages ------------------------------------------------------------------

    def post(
        self,
        channel: str,
        user: str,
        text: str = "",
        *,
        blocks: list[JsonDict] | None = None,
        thread_ts: str | None = None,
        metadata: JsonDict | None = None,
        reply_broadcast: bool = False,
        files: list[str] | None = None,
        attachments: list[JsonDict] | None = None,
    ) -> Message:
        author = self.users.get(user)
        is_bot = author is not None and author.is_bot
        msg = Message(
            ts=self.next_ts(),
            channel=channel,
            user=user,
            text=text,
            blocks=blocks,
            bot_id=author.bot_id if is_bot and author else None,
            app_id=self.app_id if self.is_app_bot(user) else None,
            thread_ts=thread_ts or None,
            metadata=metadata,
            reply_broadcast=reply_broadcast and bool(thread_ts),
            files=list(files or []),
            attachments=attachments,
        )
        if reply_broadcast and thread_ts:
            msg.subtype = "thread_broadcast"
        self.log.add(msg)
        return msg

    def message(self, channel: str, ts: str) -> Message | None:
        return self.log.find(channel, ts)

    def messages(self, channel: str) -> list[Message]:
        """Top-level messages (and thread broadcasts) in posting order."""
        return self.log.top_level(channel)

    def replies(self, channel: str, thread_ts: str) -> list[Message]:
        """Thread replies in order, without the parent."""
        return self.log.thread(channel, thread_ts)

    def all_messages(self, channel: str) -> list[Message]:
        return self.log.all(channel)

    def edit(self, channel: str, ts: str, text: str, user: str) -> Message:
        msg = self._require_message(channel, ts)
        msg.text = text
        msg.edited = {"user": user, "ts": self.next_ts()}
        return msg

    def delete(self, channel: str, ts: str) -> Message:
        self._require_message(channel, ts)
        removed = self.log.remove(channel, ts)
        assert removed is not None
        return removed

    def react(self, channel: str, ts: str, user: str, name: str) -> Message:
        msg = self._require_message(channel, ts)
        users = msg.reactions.setdefault(name, [])
        if user not in users:
            users.append(user)
        return msg

    def unreact(self, channel: str, ts: str, user: str, name: str) -> Message:
        msg = self._require_message(channel, ts)
        users = msg.reactions.get(name, [])
        if user in users:
            users.remove(user)
        if not users:
            msg.reactions.pop(name, None)
        return msg

    def pin(self, channel: str, ts: str, user: str) -> Message:
        msg = self._require_message(channel, ts)
        msg.pinned_by = user
        msg.pinned_at = int(self.now())
        return msg

    def unpin(self, channel: str, ts: str) -> Message:
        msg = self._require_message(channel, ts)
        msg.pinned_by = None
        msg.pinned_at = None
        return msg

    def _require_message(self, channel: str, ts: str) -> Message:
        msg = self.log.find(channel, ts)
        if msg is None:
            raise KeyError(f"no message {ts} in {channel}")
        return msg

    def deliver_due_scheduled(self, now: float | None = None) -> list[Message]:
        """Post scheduled messages whose time has come; Slack does this on its own clock."""
        cutoff = self.now() if now is None else now
        due = [s for s in self.scheduled if s.post_at <= cutoff]
        self.scheduled = [s for s in self.scheduled if s.post_at > cutoff]
        return [
            self.post(
                s.channel,
                s.bot_user or self.bot_user_id,
                s.text,
                blocks=s.blocks,
                thread_ts=s.thread_ts,
                metadata=s.metadata,
            )
            for s in due
        ]

    # -- interaction plumbing ------------------------------------------------------

    def new_hook(
        self, channel: str | None, user: str | None, message_ts: str | None = None
    ) -> Hook:
        team = tenancy.team_of_user(self, user) if user else tenancy.team_of_channel(self, channel)
        hook_id = f"{team}/{self.new_id('H')[1:]}/{random_hex(12)}"
        hook = Hook(hook_id, channel, user, message_ts, created=self.now())
        self.hooks[hook_id] = hook
        return hook

    def new_trigger(self, user: str | None) -> str:
        team = tenancy.team_of_user(self, user)
        trigger_id = f"{int(self.now() * 1000)}.{team}.{random_hex(16)}"
        self.triggers[trigger_id] = Trigger(trigger_id, user, self.now())
        return trigger_id

    def open_views(self, user: str | None = None) -> list[View]:
        return [
            v
            for v in self.views.values()
            if not v.closed and v.type == "modal" and (user is None or v.user == user)
        ]

    # -- call log ------------------------------------------------------------------

    def calls_to(self, method: str) -> list[RecordedCall]:
        return [c for c in self.calls if c.method == method]

    def calls_for(self, team_id: str) -> list[RecordedCall]:
        """Calls made with a token of this workspace, or (an enterprise id) an org-wide token."""
        if team_id in self.enterprises:
            return [c for c in self.calls if c.team_id is None and c.enterprise_id == team_id]
        return [c for c in self.calls if c.team_id == team_id]

    def ephemerals_for(self, user: str) -> list[Ephemeral]:
        return [e for e in self.ephemerals if e.user == user]

    async def wait_for(
        self, predicate: Callable[[], T], timeout: float = 2.0, interval: float = 0.01
    ) -> T:
        """Poll until predicate() is truthy; bots often answer after acking the request."""
        deadline = time.monotonic() + timeout
        while True:
            result = predicate()
            if result:
                return result
            if time.monotonic() >= deadline:
                raise TimeoutError("sandbox condition not met in time")
            await asyncio.sleep(interval)
