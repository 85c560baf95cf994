"""auth.*, team.*, bots.*, users.* and usergroups.* methods."""

from __future__ import annotations

from typing import TYPE_CHECKING

from .access import visible_user
from .args import Args
from .errors import SlackError
from .models import JsonDict, User
from .pagination import page_metadata, paginate
from .serialize import profile_json, user_json, usergroup_json

if TYPE_CHECKING:
    from .state import SandboxState


def auth_test(state: SandboxState, args: Args) -> JsonDict:
    """Who the calling token is: an installed token answers for its own team and user; an
    org-wide token for its org (`team_id` and `enterprise_id` both the enterprise's id)."""
    issued = state.oauth.tokens.get(args.token or "")
    actor = state.actor
    is_bot = issued is None or issued.kind == "bot"
    user_id = issued.user_id if issued and not is_bot else actor.bot_user_id
    user = state.users.get(user_id)
    org = state.enterprises.get(actor.enterprise_id or "")
    if actor.team_id is None and org is not None:
        url, team, team_id = (
            f"https://{org.domain}.enterprise.slack.test/",
            org.name,
            org.enterprise_id,
        )
    else:
        ws = state.workspace(actor.team_id)
        url, team, team_id = f"https://{ws.domain}.slack.test/", ws.name, ws.team_id
    answer: JsonDict = {
        "url": url,
        "team": team,
        "user": state.bot_name if is_bot else (user.name if user else user_id),
        "team_id": team_id,
        "user_id": user_id,
    }
    if org is not None:
        answer["enterprise_id"] = org.enterprise_id
    answer["is_enterprise_install"] = actor.is_enterprise_install
    if is_bot:
        answer["bot_id"] = actor.bot_id
    return answer


def teams_list(state: SandboxState, args: Args) -> JsonDict:
    """The workspaces the calling token is approved for: an org-wide install's, every
    workspace of its org; a workspace's token, its own."""
    teams = sorted(state.actor.team_ids)
    page, cursor = paginate(teams, args.text("cursor"), args.integer("limit", 0))
    listed = [{"id": team, "name": state.workspace(team).name} for team in page]
    return {"teams": listed, **page_metadata(cursor)}


def team_info(state: SandboxState, args: Args) -> JsonDict:
    """The caller's workspace, or one its token reaches (`team`; an org token must name it)."""
    wanted = args.text("team")
    if wanted and wanted not in state.actor.team_ids:
        raise SlackError("team_not_found")
    ws = state.workspace(wanted or state.actor.home_team())
    team: JsonDict = {
        "id": ws.team_id,
        "name": ws.name,
        "url": f"https://{ws.domain}.slack.test/",
        "domain": ws.domain,
        "email_domain": "example.com",
        "icon": {"image_default": True},
        "avatar_base_url": "https://ca.slack-edge.com/",
        "is_verified": False,
    }
    org = state.enterprises.get(ws.enterprise_id or "")
    if org is not None:
        team.update(enterprise_id=org.enterprise_id, enterprise_name=org.name)
    return {"team": team}


def bots_info(state: SandboxState, args: Args) -> JsonDict:
    bot = next((u for u in state.users.values() if u.is_bot and u.bot_id == args.text("bot")), None)
    if bot is None or not state.is_app_bot(bot.id) or not state.actor.sees_user(bot):
        raise SlackError("bot_not_found")
    return {
        "bot": {
            "id": bot.bot_id,
            "deleted": False,
            "name": state.bot_name,
            "updated": 1700000000,
            "app_id": state.app_id,
            "user_id": bot.id,
            "icons": {"image_36": "", "image_48": "", "image_72": ""},
        }
    }


def _user(state: SandboxState, user_id: str) -> User:
    return visible_user(state, user_id)


def users_info(state: SandboxState, args: Args) -> JsonDict:
    user = _user(state, args.required("user", "user_not_found"))
    data = user_json(state, user)
    if args.flag("include_locale"):
        data["locale"] = "en-US"
    return {"user": data}


def users_list(state: SandboxState, args: Args) -> JsonDict:
    team = state.actor.home_team(args.text("team_id"))
    everyone = [
        u
        for u in state.users.values()
        if u.team_id == team or (u.id == state.actor.bot_user_id and state.actor.sees_user(u))
    ]
    page, cursor = paginate(everyone, args.text("cursor"), args.integer("limit", 0))
    return {
        "members": [user_json(state, u) for u in page],
        "cache_ts": int(state.now()),
        **page_metadata(cursor),
    }


def lookup_by_email(state: SandboxState, args: Args) -> JsonDict:
    wanted = args.required("email", "users_not_found").strip().lower()
    user = next(
        (
            u
            for u in state.users.values()
            if (u.email or "").lower() == wanted and state.actor.sees_user(u)
        ),
        None,
    )
    if user is None or user.is_bot:
        raise SlackError("users_not_found")
    return {"user": user_json(state, user)}


def profile_get(state: SandboxState, args: Args) -> JsonDict:
    user = _user(state, args.text("user") or state.actor.bot_user_id)
    return {"profile": profile_json(state, user)}


def get_presence(state: SandboxState, args: Args) -> JsonDict:
    user = _user(state, args.text("user") or state.actor.bot_user_id)
    data: JsonDict = {"presence": user.presence}
    if user.id == state.actor.bot_user_id:
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
    team = state.actor.home_team(args.text("team_id"))
    groups = [
        usergroup_json(state, g, include_users)
        for g in state.usergroups.values()
        if g.team_id == team
    ]
    return {"usergroups": groups}


def usergroups_users_list(state: SandboxState, args: Args) -> JsonDict:
    group = state.usergroups.get(args.required("usergroup", "no_such_subteam"))
    if group is None or group.team_id not in state.actor.team_ids:
        raise SlackError("no_such_subteam")
    return {"users": list(group.users)}


METHODS = {
    "auth.test": auth_test,
    "auth.teams.list": teams_list,
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
