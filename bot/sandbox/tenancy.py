"""Workspaces and Enterprise Grid orgs: who owns what, and what a token may reach.

- Every user and channel belongs to a workspace (`team_id`); the sandbox starts with one,
  the default (`TEAM_ID`), and `SandboxState.add_workspace` adds more.
- An app installed separately in two workspaces has a bot user in each; the sandbox gives
  every workspace outside an org its own bot user and bot id when it is added.
- `SandboxState.add_enterprise` adds an Enterprise Grid org, with the one bot user an
  org-wide install has; workspaces added with its `enterprise_id` share that bot user (in the
  sandbox a workspace-level install inside an org reuses it too). Ids are org-wide, and a
  channel can be shared with several workspaces of its org (`shared_team_ids`).
- A Web API call acts as its token's `Actor`: a workspace token reaches its workspace, an
  org-wide token every workspace of its org; the legacy tokens (`valid_tokens`) act for the
  default workspace.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING

from .errors import SlackError
from .models import Channel, Enterprise, User, Workspace

if TYPE_CHECKING:
    from .oauth import IssuedToken
    from .state import SandboxState


@dataclass(frozen=True)
class Actor:
    """Who a Web API call acts as: its token's workspace (or org) and the bot user there."""

    team_id: str | None  # None for an org-wide token
    enterprise_id: str | None
    bot_user_id: str
    bot_id: str
    is_enterprise_install: bool
    team_ids: frozenset[str]  # the workspaces the token reaches

    def sees_channel(self, channel: Channel) -> bool:
        return any(team in self.team_ids for team in channel.team_ids)

    def sees_user(self, user: User) -> bool:
        if user.team_id in self.team_ids:
            return True
        return self.enterprise_id is not None and user.team_id == self.enterprise_id

    def context_team(self, channel: Channel) -> str:
        """The workspace through which this caller sees the channel."""
        if self.team_id is not None and self.team_id in channel.team_ids:
            return self.team_id
        return channel.team_id

    def home_team(self, wanted: str = "") -> str:
        """The workspace a call acts in: its token's, or for an org token the `team_id` it
        names (Slack requires one for the methods that create or list workspace things)."""
        if self.team_id is not None:
            return self.team_id
        if not wanted:
            raise SlackError("missing_argument", ["[ERROR] team_id is required for org tokens"])
        if wanted not in self.team_ids:
            raise SlackError("team_access_not_granted")
        return wanted


def slug(name: str) -> str:
    return re.sub(r"[^a-z0-9-]+", "-", name.lower()).strip("-") or "workspace"


def add_enterprise(
    state: SandboxState,
    enterprise_id: str,
    name: str,
    *,
    domain: str | None = None,
    org_install: bool = False,
) -> Enterprise:
    if enterprise_id in state.enterprises or enterprise_id in state.workspaces:
        raise ValueError(f"{enterprise_id} already exists")
    state.ids.reserve(enterprise_id)
    bot_user, bot_id = state.new_id("W"), state.new_id("B")
    enterprise = Enterprise(enterprise_id, name, domain or slug(name), bot_user, bot_id)
    enterprise.org_installed = org_install
    state.enterprises[enterprise_id] = enterprise
    _add_bot_user(state, bot_user, bot_id, enterprise_id)
    return enterprise


def add_workspace(
    state: SandboxState,
    team_id: str,
    name: str,
    enterprise_id: str | None = None,
    *,
    domain: str | None = None,
) -> Workspace:
    if team_id in state.workspaces or team_id in state.enterprises:
        raise ValueError(f"{team_id} already exists")
    state.ids.reserve(team_id)
    if enterprise_id is not None:
        org = state.enterprises.get(enterprise_id)
        if org is None:
            raise KeyError(f"unknown enterprise {enterprise_id}; add_enterprise first")
        bot_user, bot_id = org.bot_user_id, org.bot_id
    else:
        bot_user, bot_id = state.new_id("U"), state.new_id("B")
        _add_bot_user(state, bot_user, bot_id, team_id)
    workspace = Workspace(team_id, name, domain or slug(name), enterprise_id, bot_user, bot_id)
    state.workspaces[team_id] = workspace
    return workspace


def _add_bot_user(state: SandboxState, user_id: str, bot_id: str, team: str) -> None:
    state.users[user_id] = User(
        id=user_id, name=state.bot_name, real_name="OpsBot", is_bot=True, team_id=team
    )
    state.users[user_id].bot_id = bot_id
    state.ids.reserve(user_id)


def rename_team(state: SandboxState, old: str, new: str) -> None:
    """The workspace `old` is now called `new` (a test pretending to be another team)."""
    workspace = state.workspaces.pop(old)
    workspace.team_id = new
    state.workspaces = {new: workspace, **state.workspaces}
    for user in state.users.values():
        user.team_id = new if user.team_id == old else user.team_id
    for group in state.usergroups.values():
        group.team_id = new if group.team_id == old else group.team_id
    for channel in state.channels.values():
        channel.team_id = new if channel.team_id == old else channel.team_id
        channel.shared_team_ids = [new if t == old else t for t in channel.shared_team_ids]
    for issued in state.oauth.tokens.values():
        if issued.team_id == old:
            issued.team_id = new


def workspace(state: SandboxState, team_id: str | None) -> Workspace:
    return state.workspaces.get(team_id or "") or state.default_workspace


def org_teams(state: SandboxState, enterprise_id: str) -> frozenset[str]:
    return frozenset(t for t, w in state.workspaces.items() if w.enterprise_id == enterprise_id)


def org_installed(state: SandboxState, enterprise_id: str | None) -> bool:
    org = state.enterprises.get(enterprise_id or "")
    return org is not None and org.org_installed


def workspace_actor(state: SandboxState, team_id: str | None = None) -> Actor:
    """The app acting in one workspace (as a workspace-level install there)."""
    ws = workspace(state, team_id)
    return Actor(ws.team_id, ws.enterprise_id, ws.bot_user_id, ws.bot_id, False,
                 frozenset({ws.team_id}))  # fmt: skip


def org_actor(state: SandboxState, enterprise_id: str) -> Actor:
    org = state.enterprises[enterprise_id]
    teams = org_teams(state, enterprise_id)
    return Actor(None, enterprise_id, org.bot_user_id, org.bot_id, True, teams)


def token_actor(state: SandboxState, issued: IssuedToken | None) -> Actor:
    """Who a token acts as; a token the sandbox did not issue acts for the default workspace."""
    if issued is None:
        return workspace_actor(state)
    org = issued.enterprise_id
    if issued.is_enterprise_install and org is not None and org in state.enterprises:
        return org_actor(state, org)
    return workspace_actor(state, issued.team_id)


def installed_actor(state: SandboxState, team_id: str | None) -> Actor:
    """The installation that receives what happens in a workspace: the org-wide one when its
    org has one, else the workspace's own."""
    ws = workspace(state, team_id)
    if ws.enterprise_id is not None and org_installed(state, ws.enterprise_id):
        return org_actor(state, ws.enterprise_id)
    return workspace_actor(state, ws.team_id)


def team_of_user(state: SandboxState, user_id: str | None) -> str:
    user = state.users.get(user_id or "")
    if user is None or user.team_id not in state.workspaces:
        return state.team_id
    return user.team_id


def team_of_channel(state: SandboxState, channel_id: str | None) -> str:
    channel = state.channels.get(channel_id or "")
    if channel is None or channel.team_id not in state.workspaces:
        return state.team_id
    return channel.team_id


def app_bots(state: SandboxState) -> set[str]:
    bots = {w.bot_user_id for w in state.workspaces.values()}
    return bots | {org.bot_user_id for org in state.enterprises.values()}


def channel_bots(state: SandboxState, channel: Channel) -> set[str]:
    """The app's bot users that can be in this channel (one per workspace it is in)."""
    return {workspace(state, team).bot_user_id for team in channel.team_ids}


def bot_in(state: SandboxState, channel: Channel) -> str | None:
    """The app's bot user that is a member of the channel, if one is."""
    present = sorted(channel_bots(state, channel) & channel.members)
    return present[0] if present else None


def share_channel(state: SandboxState, channel_id: str, *team_ids: str) -> Channel:
    """Share a channel with other workspaces of its org (an org-shared channel)."""
    channel = state.channels[channel_id]
    home = state.workspaces[channel.team_id]
    for team in team_ids:
        if home.enterprise_id is None or workspace(state, team).enterprise_id != home.enterprise_id:
            raise ValueError(f"{team} is not in {channel.team_id}'s Enterprise Grid org")
    channel.shared_team_ids = list(dict.fromkeys([*channel.team_ids, *team_ids]))
    return channel


def bot_for(state: SandboxState, channel_id: str | None) -> str:
    """The app's bot user that speaks in a channel (answers to response_urls, acks)."""
    channel = state.channels.get(channel_id or "")
    if channel is None:
        return state.bot_user_id
    return bot_in(state, channel) or workspace(state, channel.team_id).bot_user_id
