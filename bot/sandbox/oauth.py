"""Installing the app by OAuth, as Slack plays it.

- `GET /oauth/v2/authorize` stands in for slack.com's authorize page: the installer (the
  sandbox's `oauth.installer`) approves at once, and the browser is sent back to the
  redirect URI with a one-time `code` and the app's `state` (or `error=access_denied` when
  `oauth.deny` is set);
- `oauth.v2.access` exchanges the code for a bot token, checking the client id and secret
  (HTTP Basic, as slack_sdk sends them, or form fields), the code (once, within 10 minutes)
  and the redirect URI (the one the authorize step used); with `oauth.token_rotation` the
  token expires (`expires_in`) and comes with a refresh token, and `grant_type=refresh_token`
  exchanges that for a new pair;
- every issued token is known to the dispatcher (`IssuedToken`): it works until it expires
  or the app is uninstalled, whatever `valid_tokens` says; `auth.test` answers with its team;
- several workspaces: the authorize URL's `team` parameter (Slack's own) picks the workspace
  installed into, default `oauth.team`, else the default workspace. Naming an Enterprise Grid
  org's id (`team=E...`) is the installer choosing the org: an org-wide install, whose
  `oauth.v2.access` answer has `team` null, `enterprise` set and `is_enterprise_install`
  true, and whose token reaches every workspace of the org. Tokens remember their workspace
  (or org); a refresh keeps it.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING
from urllib.parse import urlencode

from . import tenancy
from .args import Args
from .errors import SlackError
from .models import JsonDict

if TYPE_CHECKING:
    from .state import SandboxState

CLIENT_ID = "1111111111.2222222222"
CLIENT_SECRET = "sandbox-client-secret"
CODE_SECONDS = 600.0
# Slack's rotating bot tokens live 12 hours.
TOKEN_SECONDS = 43200


@dataclass
class IssuedToken:
    token: str
    kind: str  # "bot" or "user"
    team_id: str | None  # None for an org-wide install's token
    user_id: str
    scopes: list[str]
    expires_at: float | None = None
    revoked: bool = False
    enterprise_id: str | None = None
    is_enterprise_install: bool = False


@dataclass(frozen=True)
class Target:
    """Where an install goes: one workspace, or (team_id None) an org, org-wide."""

    team_id: str | None
    enterprise_id: str | None

    @property
    def is_enterprise_install(self) -> bool:
        return self.team_id is None


@dataclass
class Grant:
    """An approval on the authorize page, waiting for its code to be exchanged."""

    code: str
    scopes: list[str]
    user_scopes: list[str]
    redirect_uri: str
    installer: str
    issued_at: float
    used: bool = False
    target: Target = Target(None, None)


@dataclass
class OAuthApp:
    """The app's OAuth settings (api.slack.com/apps) and what it has handed out."""

    client_id: str = CLIENT_ID
    client_secret: str = CLIENT_SECRET
    # Redirect URLs configured for the app; empty: any URL the authorize step names.
    redirect_urls: list[str] = field(default_factory=list)
    token_rotation: bool = False
    token_seconds: int = TOKEN_SECONDS
    installer: str | None = None  # who approves; else the workspace's default user
    deny: bool = False  # the installer clicks "Cancel"
    # The workspace (T...) or org (E..., org-wide) the installer picks when the authorize
    # URL names none with `team`; None: the default workspace
    team: str | None = None
    grants: dict[str, Grant] = field(default_factory=dict)
    tokens: dict[str, IssuedToken] = field(default_factory=dict)
    refresh_tokens: dict[str, IssuedToken] = field(default_factory=dict)

    def installed_tokens(self, kind: str = "bot") -> list[IssuedToken]:
        return [t for t in self.tokens.values() if t.kind == kind and not t.revoked]


def token_error(state: SandboxState, token: str) -> str | None:
    """None when `token` is one the sandbox issued and still valid; else Slack's error."""
    issued = state.oauth.tokens[token]
    if issued.revoked:
        return "token_revoked"
    if issued.expires_at is not None and state.now() >= issued.expires_at:
        return "token_expired"
    return None


def authorize(state: SandboxState, query: dict[str, str]) -> tuple[int, str]:
    """The authorize page: (302, where to send the browser) or (400, the error Slack shows)."""
    app = state.oauth
    if query.get("client_id") != app.client_id:
        return 400, "invalid_client_id"
    scopes = _scopes(query.get("scope", ""))
    user_scopes = _scopes(query.get("user_scope", ""))
    if not scopes and not user_scopes:
        return 400, "invalid_scope"
    redirect_uri = query.get("redirect_uri") or (app.redirect_urls[0] if app.redirect_urls else "")
    if not redirect_uri or not _allowed(app, redirect_uri):
        return 400, "bad_redirect_uri"
    target = _target(state, query.get("team") or app.team or state.team_id)
    if target is None:
        return 400, "invalid_team"
    back = {"state": query.get("state", "")}
    if app.deny:
        return 302, _with_query(redirect_uri, {"error": "access_denied", **back})
    code = f"{int(state.now())}.{secrets.token_hex(12)}"
    installer = app.installer or _installer(state, target)
    app.grants[code] = Grant(
        code, scopes, user_scopes, query.get("redirect_uri", ""), installer, state.now(),
        target=target,
    )  # fmt: skip
    return 302, _with_query(redirect_uri, {"code": code, **back})


def _target(state: SandboxState, team: str) -> Target | None:
    if team in state.enterprises:
        return Target(None, team)
    workspace = state.workspaces.get(team)
    return None if workspace is None else Target(team, workspace.enterprise_id)


def _installer(state: SandboxState, target: Target) -> str:
    if target.team_id == state.team_id and state.default_user:
        return state.default_user
    teams = (
        tenancy.org_teams(state, target.enterprise_id or "")
        if target.team_id is None
        else {target.team_id}
    )
    person = next((u.id for u in state.humans() if u.team_id in teams), None)
    return person or _bot_user(state, target)


def _bot_user(state: SandboxState, target: Target) -> str:
    if target.team_id is None:
        return state.enterprises[target.enterprise_id or ""].bot_user_id
    return state.workspace(target.team_id).bot_user_id


def oauth_v2_access(state: SandboxState, args: Args) -> JsonDict:
    app = state.oauth
    if args.text("client_id") != app.client_id:
        raise SlackError("invalid_client_id")
    if args.text("client_secret") != app.client_secret:
        raise SlackError("bad_client_secret")
    grant_type = args.text("grant_type") or "authorization_code"
    if grant_type == "refresh_token":
        return _refresh(state, args.text("refresh_token"))
    if grant_type != "authorization_code":
        raise SlackError("invalid_grant_type")
    grant = app.grants.get(args.text("code"))
    if grant is None or grant.used or state.now() - grant.issued_at > CODE_SECONDS:
        raise SlackError("invalid_code")
    if grant.redirect_uri and args.text("redirect_uri") != grant.redirect_uri:
        raise SlackError("bad_redirect_uri")
    target = grant.target
    if target.team_id is None and grant.scopes and target.enterprise_id in state.enterprises:
        state.enterprises[target.enterprise_id or ""].org_installed = True
    grant.used = True
    authed_user: JsonDict = {"id": grant.installer}
    if grant.user_scopes:
        user = _issue(state, "user", "xoxp", grant.installer, grant.user_scopes, target)
        authed_user.update(
            scope=",".join(grant.user_scopes), access_token=user.token, token_type="user"
        )
        authed_user.update(_expiry(state, user))
    if grant.scopes:
        bot = _issue(state, "bot", "xoxb", _bot_user(state, target), grant.scopes, target)
        return {**_bot_response(state, bot), "authed_user": authed_user}
    return {
        "app_id": state.app_id,
        "authed_user": authed_user,
        "team": _team(state, target.team_id),
        **_enterprise_fields(state, target),
    }


def _refresh(state: SandboxState, refresh_token: str) -> JsonDict:
    app = state.oauth
    old = app.refresh_tokens.pop(refresh_token, None)
    if old is None or old.revoked:
        raise SlackError("invalid_refresh_token")
    # The old access token keeps working until it expires, as on Slack; the new one is for
    # the same workspace (or org).
    target = _token_target(old)
    prefix = "xoxb" if old.kind == "bot" else "xoxp"
    new = _issue(state, old.kind, prefix, old.user_id, old.scopes, target)
    if old.kind == "bot":
        return _bot_response(state, new)
    return {"access_token": new.token, "token_type": "user", "scope": ",".join(new.scopes),
            "team": _team(state, target.team_id), **_enterprise_fields(state, target),
            **_expiry(state, new)}  # fmt: skip


def _token_target(issued: IssuedToken) -> Target:
    return Target(None if issued.is_enterprise_install else issued.team_id, issued.enterprise_id)


def _bot_response(state: SandboxState, bot: IssuedToken) -> JsonDict:
    target = _token_target(bot)
    enterprise = state.enterprises.get(target.enterprise_id or "")
    return {
        "access_token": bot.token,
        "token_type": "bot",
        "scope": ",".join(bot.scopes),
        "bot_user_id": bot.user_id,
        "app_id": state.app_id,
        "team": _team(state, target.team_id),
        "enterprise": {"id": enterprise.enterprise_id, "name": enterprise.name}
        if enterprise
        else None,
        "is_enterprise_install": target.is_enterprise_install,
        **_expiry(state, bot),
    }


def _enterprise_fields(state: SandboxState, target: Target) -> JsonDict:
    """Only an install in an Enterprise Grid org adds these to a user-token answer."""
    enterprise = state.enterprises.get(target.enterprise_id or "")
    if enterprise is None:
        return {}
    return {
        "enterprise": {"id": enterprise.enterprise_id, "name": enterprise.name},
        "is_enterprise_install": target.is_enterprise_install,
    }


def _issue(
    state: SandboxState, kind: str, prefix: str, user_id: str, scopes: list[str], target: Target
) -> IssuedToken:
    app = state.oauth
    rotating = app.token_rotation
    # Rotating tokens look like Slack's: xoxe.xoxb-1-..., with an xoxe-1-... refresh token.
    token = f"{'xoxe.' if rotating else ''}{prefix}-1-{secrets.token_hex(16)}"
    expires_at = state.now() + app.token_seconds if rotating else None
    issued = IssuedToken(
        token, kind, target.team_id, user_id, list(scopes), expires_at,
        enterprise_id=target.enterprise_id, is_enterprise_install=target.is_enterprise_install,
    )  # fmt: skip
    app.tokens[token] = issued
    if rotating:
        app.refresh_tokens[f"xoxe-1-{secrets.token_hex(16)}"] = issued
    return issued


def _expiry(state: SandboxState, issued: IssuedToken) -> JsonDict:
    if issued.expires_at is None:
        return {}
    refresh = next(r for r, t in state.oauth.refresh_tokens.items() if t is issued)
    return {"refresh_token": refresh, "expires_in": round(issued.expires_at - state.now())}


def revoke_all(state: SandboxState) -> dict[str, list[str]]:
    """Uninstall: every token stops working. Returns `tokens_revoked`'s `tokens` field."""
    return _revoke(state, lambda issued: True)


def revoke_team(state: SandboxState, team: str) -> dict[str, list[str]]:
    """Uninstall from one workspace (its tokens), or (an enterprise id) the org-wide install."""
    if team in state.enterprises:
        state.enterprises[team].org_installed = False
        return _revoke(state, lambda t: t.is_enterprise_install and t.enterprise_id == team)
    return _revoke(state, lambda t: not t.is_enterprise_install and t.team_id == team)


def _revoke(state: SandboxState, chosen: Callable[[IssuedToken], bool]) -> dict[str, list[str]]:
    revoked: dict[str, list[str]] = {"oauth": [], "bot": []}
    for issued in state.oauth.tokens.values():
        if not issued.revoked and chosen(issued):
            issued.revoked = True
            kind = "bot" if issued.kind == "bot" else "oauth"
            if issued.user_id not in revoked[kind]:
                revoked[kind].append(issued.user_id)
    refresh = state.oauth.refresh_tokens
    for key in [key for key, issued in refresh.items() if chosen(issued)]:
        del refresh[key]
    return revoked


def _team(state: SandboxState, team_id: str | None) -> JsonDict | None:
    if team_id is None:
        return None  # an org-wide install
    workspace = state.workspace(team_id)
    return {"id": workspace.team_id, "name": workspace.name}


def _scopes(text: str) -> list[str]:
    return [scope.strip() for scope in text.replace(" ", ",").split(",") if scope.strip()]


def _allowed(app: OAuthApp, redirect_uri: str) -> bool:
    # Slack accepts a configured URL or a path below it.
    return not app.redirect_urls or any(
        redirect_uri == url or redirect_uri.startswith(url.rstrip("/") + "/")
        for url in app.redirect_urls
    )


def _with_query(url: str, params: dict[str, str]) -> str:
    return f"{url}{'&' if '?' in url else '?'}{urlencode(params)}"


METHODS = {"oauth.v2.access": oauth_v2_access}
# Methods authenticated by the app's client id and secret rather than a token.
WITHOUT_TOKEN = frozenset(METHODS)
