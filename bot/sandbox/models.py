"""Plain records held by the sandbox workspace."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

JsonDict = dict[str, Any]


@dataclass
class User:
    id: str
    name: str
    real_name: str = ""
    email: str | None = None
    tz: str = "UTC"
    tz_offset: int = 0
    is_bot: bool = False
    is_admin: bool = False
    bot_id: str | None = None
    deleted: bool = False
    presence: str = "active"
    title: str = ""
    # The workspace the person belongs to (an org's own bot user: the enterprise id)
    team_id: str = ""


@dataclass
class Workspace:
    """A Slack workspace (team) the app can be installed in."""

    team_id: str
    name: str
    domain: str
    enterprise_id: str | None = None
    bot_user_id: str = ""  # the app's bot user here (an org's one bot user, in a Grid org)
    bot_id: str = ""


@dataclass
class Enterprise:
    """An Enterprise Grid org: its workspaces share user and channel ids, and an org-wide
    install has one bot user for the whole org."""

    enterprise_id: str
    name: str
    domain: str
    bot_user_id: str
    bot_id: str
    org_installed: bool = False  # the app is installed org-wide (is_enterprise_install)


@dataclass
class UserGroup:
    id: str
    handle: str
    name: str
    users: list[str] = field(default_factory=list)
    description: str = ""
    created: int = 0
    team_id: str = ""


@dataclass
class Channel:
    id: str
    name: str
    created: int
    creator: str
    is_private: bool = False
    is_im: bool = False
    is_mpim: bool = False
    is_general: bool = False
    im_user: str | None = None
    members: set[str] = field(default_factory=set)
    topic: str = ""
    topic_creator: str = ""
    topic_last_set: int = 0
    purpose: str = ""
    purpose_creator: str = ""
    purpose_last_set: int = 0
    archived: bool = False
    previous_names: list[str] = field(default_factory=list)
    # The workspace that owns the channel, and (Enterprise Grid) every workspace of the org
    # it is shared with, the owner included; empty: not shared
    team_id: str = ""
    shared_team_ids: list[str] = field(default_factory=list)

    @property
    def team_ids(self) -> list[str]:
        return list(self.shared_team_ids) or [self.team_id]


@dataclass
class Message:
    ts: str
    channel: str
    user: str
    text: str = ""
    blocks: list[JsonDict] | None = None
    bot_id: str | None = None
    app_id: str | None = None
    thread_ts: str | None = None
    reply_count: int = 0
    reply_users: list[str] = field(default_factory=list)
    latest_reply: str | None = None
    metadata: JsonDict | None = None
    edited: JsonDict | None = None
    reactions: dict[str, list[str]] = field(default_factory=dict)
    pinned_by: str | None = None
    pinned_at: int | None = None
    files: list[str] = field(default_factory=list)
    subtype: str | None = None
    reply_broadcast: bool = False
    attachments: list[JsonDict] | None = None

    @property
    def is_reply(self) -> bool:
        return self.thread_ts is not None and self.thread_ts != self.ts

    @property
    def pinned(self) -> bool:
        return self.pinned_by is not None


@dataclass
class View:
    id: str
    type: str
    payload: JsonDict
    hash: str
    user: str | None = None
    external_id: str | None = None
    root_view_id: str | None = None
    previous_view_id: str | None = None
    created: float = 0.0
    closed: bool = False
    errors: JsonDict | None = None

    @property
    def callback_id(self) -> str:
        return str(self.payload.get("callback_id") or "")

    @property
    def private_metadata(self) -> str:
        return str(self.payload.get("private_metadata") or "")


@dataclass
class File:
    id: str
    name: str
    length: int
    user: str
    created: int
    title: str = ""
    content: bytes | None = None
    alt_txt: str | None = None
    snippet_type: str | None = None
    channels: list[str] = field(default_factory=list)
    initial_comment: str | None = None
    thread_ts: str | None = None
    completed: bool = False

    @property
    def uploaded(self) -> bool:
        return self.content is not None


@dataclass
class Hook:
    """A response_url handed to the bot, bound to where the interaction happened."""

    id: str
    channel: str | None
    user: str | None
    message_ts: str | None = None
    created: float = 0.0
    uses: int = 0


@dataclass
class HookPost:
    hook_id: str
    body: JsonDict
    at: float
    channel: str | None = None
    user: str | None = None

    @property
    def response_type(self) -> str:
        return str(self.body.get("response_type") or "ephemeral")

    @property
    def text(self) -> str:
        return str(self.body.get("text") or "")

    @property
    def blocks(self) -> list[JsonDict] | None:
        blocks = self.body.get("blocks")
        return blocks if isinstance(blocks, list) else None

    @property
    def replace_original(self) -> bool:
        return bool(self.body.get("replace_original"))

    @property
    def delete_original(self) -> bool:
        return bool(self.body.get("delete_original"))


@dataclass
class Ephemeral:
    channel: str
    user: str
    text: str
    ts: str
    blocks: list[JsonDict] | None = None
    thread_ts: str | None = None
    source: str = "chat.postEphemeral"


@dataclass
class ScheduledMessage:
    id: str
    channel: str
    post_at: int
    text: str
    blocks: list[JsonDict] | None = None
    thread_ts: str | None = None
    metadata: JsonDict | None = None
    created: int = 0
    bot_user: str = ""  # the bot that scheduled it, and will post it


@dataclass
class Trigger:
    id: str
    user: str | None
    issued_at: float


@dataclass
class RecordedCall:
    method: str
    args: JsonDict
    status: int
    response: JsonDict
    at: float
    fault: str | None = None
    token: str | None = None  # the token the call was made with
    # The workspace the token belongs to (None: an org-wide token, or no valid token) and
    # its Enterprise Grid org
    team_id: str | None = None
    enterprise_id: str | None = None

    @property
    def ok(self) -> bool:
        return self.status == 200 and bool(self.response.get("ok"))

    @property
    def error(self) -> str | None:
        error = self.response.get("error")
        return str(error) if error is not None else None
