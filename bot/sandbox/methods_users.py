"""auth.*, team.*, bots.*, users.* and usergroups.* methods."""

from __future__ import annotations

from typing import TYPE_CHECKING

from .args import Args
from .errors import SlackError
from .models import JsonDict, User
from .pagination import page_metadata, paginate
from .serialize import profile_json, user_json, usergroup_json

if TYPE_CHECKING:
    from .state import SandboxState


def auth_test(state: SandboxState, args: Args) -> JsonDict:
    """Who the calling token is: an installed token answers for its own team and user."""
    issued = state.oauth.tokens.get(args.token or "")
    team_id = issued.team_id if issued else state.team_id
    user_id = issued.user_id if issued else state.bot_user_id
    is_bot = issued is None or issued.kind == "bot"
    user = state.users.get(user_id)
    answer: JsonDict = {
        "url": f"https://{state.team_domain}.slack.test/",
        "team": state.team_name,
        "user": state.bot_name if is_bot else (user.name if user else user_id),
        "team_id": team_id,
        "user_id": user_id,
        "is_enterprise_install": False,
    }
    if is_bot:
        answer["bot_id"] = state.bot_id
    return answer


def team_info(state: SandboxState, args: Args) -> JsonDict:
    wanted = args.text("team")
    if wanted and wanted != state.team_id:
        raise SlackError("team_not_found")
    return {
        "team": {
            "id": state.team_id,
            "name": state.team_name,
            "url": f"https://{state.team_domain}.slack.test/",
            "domain": state.team_domain,
            "email_domain": "example.com",
            "icon": {"image_default": True},
            "avatar_base_url": "https://ca.slack-edge.com/",
            "is_verified": False,
        }
    }


def bots_info(state: SandboxState, args: Args) -> JsonDict:
    if args.text("bot") != state.bot_id:
        raise SlackError("bot_not_found")
    return {
        "bot": {
            "id": state.bot_id,
            "deleted": False,
            "name": state.bot_name,
            "updated": 1700000000,
            "app_id": state.app_id,
            "user_id": state.bot_user_id,
            "icons": {"image_36": "", "image_48": "", "image_72": ""},
        }
    }


def _user(state: SandboxState, user_id: str) -> User:
    user = state.users.get(user_id.strip())
    if user is None:
        raise SlackError("user_not_found")
    return user


def users_info(state: SandboxState, args: Args) -> JsonDict:
    user = _user(state, args.required("user", "user_not_found"))
    data = user_json(state, user)
    if args.flag("include_locale"):
        data["locale"] = "en-US"
    return {"user": data}


def users_list(state: SandboxState, args: Args) -> JsonDict:
    everyone = list(state.users.values())
    page, cursor = paginate(everyone, args.text("cursor"), args.integer("limit", 0))
    return {
        "members": [user_json(state, u) for u in page],
        "cache_ts": int(state.now()),
        **page_metadata(cursor),
    }


def lookup_by_email(state: SandboxState, args: Args) -> JsonDict:
    user = state.user_by_email(args.required("email", "users_not_found"))
    if user is None or user.is_bot:
        raise SlackError("users_not_found")
    return {"user": user_json(state, user)}


def profile_get(state: SandboxState, args: Args) -> JsonDict:
    user = _user(state, args.text("user") or state.bot_user_id)
    return {"profile": profile_json(state, user)}


def get_presence(state: SandboxState, args: Args) -> JsonDict:
    user = _user(state, args.text("user") or state.bot_user_id)
    data: JsonDict = {"presence": user.presence}
    if user.id == state.bot_user_id:
        # Slack only reveals the detailed fields to the calling user itself
        data.update(
            online=True,
            auto_away=False,
            manual_away=False,
            connection_count=1,
            last_activity=int(state.now()),
        )
    return data


def usergroups_list(state: SandboxState, args: Args) -> JsonDict:
    include_users = args.flag("include_users")
    groups = [usergroup_json(state, g, include_users) for g in state.usergroups.values()]
    return {"usergroups": groups}


def usergroups_users_list(state: SandboxState, args: Args) -> JsonDict:
    group = state.usergroups.get(args.required("usergroup", "no_such_subteam"))
    if group is None:
        raise SlackError("no_such_subteam")
    return {"users": list(group.users)}


METHODS = {
    "auth.test": auth_test,
    "team.info": team_info,
    "bots.info": bots_info,
    "users.info": users_info,
    "users.list": users_list,
    "users.lookupByEmail": lookup_by_email,
    "users.profile.get": profile_get,
    "users.getPresence": get_presence,
    "usergroups.list": usergroups_list,
    "usergroups.users.list": usergroups_users_list,
}
