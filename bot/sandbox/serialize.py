"""Sandbox records rendered with the field names Slack's Web API uses.

Records are shown as the caller (`state.actor`) sees them: its bot's membership, the
workspace through which it sees a shared channel.
"""

from __future__ import annotations

import mimetypes
from typing import TYPE_CHECKING, Any

from .models import Channel, File, JsonDict, Message, User, UserGroup, View

if TYPE_CHECKING:
    from .state import SandboxState


def _team_of(state: SandboxState, user_id: str | None) -> str:
    user = state.users.get(user_id or "")
    return user.team_id if user is not None and user.team_id else state.team_id


def user_json(state: SandboxState, user: User) -> JsonDict:
    return {
        "id": user.id,
        "team_id": user.team_id or state.team_id,
        "name": user.name,
        "deleted": user.deleted,
        "color": "9f69e7",
        "real_name": user.real_name,
        "tz": user.tz,
        "tz_label": user.tz,
        "tz_offset": user.tz_offset,
        "profile": profile_json(state, user),
        "is_admin": user.is_admin,
        "is_owner": False,
        "is_primary_owner": False,
        "is_restricted": False,
        "is_ultra_restricted": False,
        "is_bot": user.is_bot,
        "is_app_user": False,
        "updated": 1700000000,
        "is_email_confirmed": not user.is_bot,
    }


def profile_json(state: SandboxState, user: User) -> JsonDict:
    first, _, last = user.real_name.partition(" ")
    profile: JsonDict = {
        "title": user.title,
        "phone": "",
        "skype": "",
        "real_name": user.real_name,
        "real_name_normalized": user.real_name,
        "display_name": user.name,
        "display_name_normalized": user.name,
        "fields": {},
        "status_text": "",
        "status_emoji": "",
        "status_expiration": 0,
        "avatar_hash": "g000000000",
        "first_name": first,
        "last_name": last,
        "image_72": f"{state.permalink_base}/avatars/{user.id}_72.png",
        "image_192": f"{state.permalink_base}/avatars/{user.id}_192.png",
        "team": user.team_id or state.team_id,
    }
    if user.email and not user.is_bot:
        profile["email"] = user.email
    if user.is_bot:
        profile.update(bot_id=user.bot_id, api_app_id=state.app_id, always_active=True)
    return profile


def channel_json(state: SandboxState, channel: Channel, num_members: bool = False) -> JsonDict:
    if channel.is_im:
        return _im_json(state, channel)
    teams = channel.team_ids
    shared = len(teams) > 1
    data: JsonDict = {
        "id": channel.id,
        "name": channel.name,
        "is_channel": not channel.is_mpim,
        "is_group": False,
        "is_im": False,
        "is_mpim": channel.is_mpim,
        "is_private": channel.is_private,
        "created": channel.created,
        "is_archived": channel.archived,
        "is_general": channel.is_general,
        "unlinked": 0,
        "name_normalized": channel.name,
        "is_shared": shared,
        "is_org_shared": shared,  # the sandbox shares channels within an org only
        "is_pending_ext_shared": False,
        "pending_shared": [],
        "context_team_id": state.actor.context_team(channel),
        "updated": channel.created * 1000,
        "parent_conversation": None,
        "creator": channel.creator,
        "is_ext_shared": False,
        "shared_team_ids": teams,
        "is_member": state.actor.bot_user_id in channel.members,
        "topic": {
            "value": channel.topic,
            "creator": channel.topic_creator,
            "last_set": channel.topic_last_set,
        },
        "purpose": {
            "value": channel.purpose,
            "creator": channel.purpose_creator,
            "last_set": channel.purpose_last_set,
        },
        "previous_names": list(channel.previous_names),
    }
    if num_members:
        data["num_members"] = len(channel.members)
    return data


def _im_json(state: SandboxState, channel: Channel) -> JsonDict:
    return {
        "id": channel.id,
        "created": channel.created,
        "is_archived": False,
        "is_im": True,
        "is_org_shared": False,
        "context_team_id": state.actor.context_team(channel),
        "updated": channel.created * 1000,
        "user": channel.im_user,
        "is_user_deleted": False,
        "priority": 0,
    }


def message_json(state: SandboxState, msg: Message, include_metadata: bool = True) -> JsonDict:
    data: JsonDict = {"type": "message", "text": msg.text, "user": msg.user, "ts": msg.ts}
    team = _team_of(state, msg.user)
    channel = state.channels.get(msg.channel)
    if team in state.enterprises and channel is not None:
        team = state.actor.context_team(channel)  # an org's bot speaks in the channel's team
    data["team"] = team
    if msg.subtype:
        data["subtype"] = msg.subtype
    if msg.bot_id:
        profile = bot_profile(state, msg.bot_id)
        data.update(bot_id=msg.bot_id, app_id=msg.app_id, bot_profile=profile)
    if msg.blocks is not None:
        data["blocks"] = msg.blocks
    if msg.attachments:
        data["attachments"] = msg.attachments
    _add_thread_fields(state, data, msg)
    if msg.edited:
        data["edited"] = dict(msg.edited)
    if msg.reactions:
        data["reactions"] = [
            {"name": name, "users": list(users), "count": len(users)}
            for name, users in msg.reactions.items()
        ]
    if msg.pinned_by:
        data["pinned_to"] = [msg.channel]
        data["pinned_info"] = {
            "channel": msg.channel,
            "pinned_by": msg.pinned_by,
            "pinned_ts": msg.pinned_at,
        }
    if msg.files:
        data["files"] = [file_json(state, state.files[f]) for f in msg.files if f in state.files]
        data["upload"] = True
        data["display_as_bot"] = False
    if include_metadata and msg.metadata is not None:
        data["metadata"] = msg.metadata
    return data


def _add_thread_fields(state: SandboxState, data: JsonDict, msg: Message) -> None:
    if msg.is_reply and msg.thread_ts is not None:
        data["thread_ts"] = msg.thread_ts
        parent = state.message(msg.channel, msg.thread_ts)
        if parent is not None:
            data["parent_user_id"] = parent.user
    elif msg.reply_count:
        data.update(
            thread_ts=msg.ts,
            reply_count=msg.reply_count,
            reply_users_count=len(msg.reply_users),
            latest_reply=msg.latest_reply,
            reply_users=list(msg.reply_users),
            is_locked=False,
            subscribed=False,
        )


def bot_profile(state: SandboxState, bot_id: str | None = None) -> JsonDict:
    """The app's bot with this bot id (default: the default workspace's)."""
    wanted = bot_id or state.bot_id
    bot = next((u for u in state.users.values() if u.is_bot and u.bot_id == wanted), None)
    return {
        "id": wanted,
        "deleted": False,
        "name": state.bot_name,
        "updated": 1700000000,
        "app_id": state.app_id,
        "icons": {"image_36": "", "image_48": "", "image_72": ""},
        "team_id": bot.team_id if bot is not None and bot.team_id else state.team_id,
    }


def file_json(state: SandboxState, f: File) -> JsonDict:
    mimetype = mimetypes.guess_type(f.name)[0] or "application/octet-stream"
    filetype = f.name.rsplit(".", 1)[-1].lower() if "." in f.name else "binary"
    team = _team_of(state, f.user)
    url = f"https://files.sandbox.slack.test/files-pri/{team}-{f.id}/{f.name}"
    return {
        "id": f.id,
        "created": f.created,
        "timestamp": f.created,
        "name": f.name,
        "title": f.title or f.name,
        "mimetype": mimetype,
        "filetype": filetype,
        "pretty_type": filetype.upper(),
        "user": f.user,
        "user_team": team,
        "editable": False,
        "size": len(f.content) if f.content is not None else f.length,
        "mode": "hosted",
        "is_external": False,
        "external_type": "",
        "is_public": any(_is_public(state, c) for c in f.channels),
        "public_url_shared": False,
        "display_as_bot": False,
        "username": "",
        "url_private": url,
        "url_private_download": url.replace("/files-pri/", "/files-pri/download/"),
        "permalink": f"{state.permalink_base}/files/{f.user}/{f.id}/{f.name}",
        "channels": [c for c in f.channels if _is_public(state, c)],
        "groups": [c for c in f.channels if _kind(state, c) == "private"],
        "ims": [c for c in f.channels if _kind(state, c) == "im"],
        "comments_count": 0,
        "alt_txt": f.alt_txt,
        "has_rich_preview": False,
        "file_access": "visible",
    }


def _kind(state: SandboxState, channel_id: str) -> str:
    channel = state.channels.get(channel_id)
    if channel is None:
        return "unknown"
    if channel.is_im:
        return "im"
    return "private" if channel.is_private else "public"


def _is_public(state: SandboxState, channel_id: str) -> bool:
    return _kind(state, channel_id) == "public"


def usergroup_json(state: SandboxState, group: UserGroup, include_users: bool) -> JsonDict:
    data: JsonDict = {
        "id": group.id,
        "team_id": group.team_id or state.team_id,
        "is_usergroup": True,
        "is_subteam": True,
        "name": group.name,
        "description": group.description,
        "handle": group.handle,
        "is_external": False,
        "date_create": group.created,
        "date_update": group.created,
        "date_delete": 0,
        "auto_type": None,
        "created_by": state.actor.bot_user_id,
        "updated_by": state.actor.bot_user_id,
        "deleted_by": None,
        "prefs": {"channels": [], "groups": []},
        "user_count": len(group.users),
    }
    if include_users:
        data["users"] = list(group.users)
    return data


def view_json(state: SandboxState, view: View) -> JsonDict:
    p = view.payload
    data: dict[str, Any] = {
        "id": view.id,
        "team_id": _team_of(state, view.user),
        "type": view.type,
        "blocks": p.get("blocks", []),
        "private_metadata": p.get("private_metadata", ""),
        "callback_id": p.get("callback_id", ""),
        "state": {"values": {}},
        "hash": view.hash,
        "title": p.get("title"),
        "clear_on_close": bool(p.get("clear_on_close", False)),
        "notify_on_close": bool(p.get("notify_on_close", False)),
        "close": p.get("close"),
        "submit": p.get("submit"),
        "previous_view_id": view.previous_view_id,
        "root_view_id": view.root_view_id or view.id,
        "app_id": state.app_id,
        "external_id": view.external_id or "",
        "app_installed_team_id": _installed_team(state),
        "bot_id": state.actor.bot_id,
    }
    return data


def _installed_team(state: SandboxState) -> str:
    """Where the app showing a view is installed: the workspace, or the org (org-wide)."""
    actor = state.actor
    return actor.team_id or actor.enterprise_id or state.team_id
