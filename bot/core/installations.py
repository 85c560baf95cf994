"""Workspaces that installed the app by OAuth (SLACK_CLIENT_ID and SLACK_CLIENT_SECRET).

Nothing here is our own store: slack_sdk's SQLAlchemy installation and OAuth state stores do
the work, on opsbot's engine and on tables built by their own classmethods into opsbot's
metadata, so Alembic creates and checks them with every other table (revision 0010).

Their DateTime columns are naive (`TIMESTAMP WITHOUT TIME ZONE` on PostgreSQL, text on SQLite).
The stores write UTC with the zone dropped (`normalize_datetime_for_db`) and `Installation`
reads a naive value back as UTC, so the columns hold UTC on both databases whatever the
server's or the process's time zone; nothing else in opsbot reads them.

Bolt runs the flow (`AsyncOAuthSettings`): `GET /slack/install` issues a state (a row of
`slack_oauth_states` and a cookie in the installer's browser) and links to Slack's authorize
page; `GET /slack/oauth_redirect` consumes the state once, exchanges the code with
`oauth.v2.access` and saves the installation. Requests from Slack are then authorized from the
store by their team (Bolt's `AsyncInstallationStoreAuthorize`), which also refreshes an
expiring bot token (token rotation) before it is used. `app_uninstalled` and `tokens_revoked`
delete the workspace's rows (Bolt's built-in revocation listeners).

The process-wide clients (workers, projector, lookups) ask `bot_token` before each call: the
bot token of the workspace the work is within (`bot.core.workspaces`), found by its team, or by
its enterprise for an org-wide (Enterprise Grid) install, refreshed when it expires soon. Work
outside any workspace gets the token only when exactly one workspace is installed.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import html
import logging
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from slack_bolt.authorization.async_authorize import AsyncInstallationStoreAuthorize
from slack_bolt.oauth.async_callback_options import (
    AsyncCallbackOptions,
    AsyncFailureArgs,
    AsyncSuccessArgs,
)
from slack_bolt.oauth.async_oauth_settings import AsyncOAuthSettings
from slack_bolt.response import BoltResponse
from slack_sdk.errors import SlackApiError, SlackTokenRotationError
from slack_sdk.oauth.installation_store.models.bot import Bot
from slack_sdk.oauth.installation_store.models.installation import Installation
from slack_sdk.oauth.installation_store.sqlalchemy import AsyncSQLAlchemyInstallationStore
from slack_sdk.oauth.sqlalchemy_utils import normalize_datetime_for_db
from slack_sdk.oauth.state_store.sqlalchemy import AsyncSQLAlchemyOAuthStateStore
from slack_sdk.oauth.token_rotation.async_rotator import AsyncTokenRotator
from slack_sdk.web.async_client import AsyncWebClient
from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from bot.core import workspaces
from bot.core.db import Base, affected, transaction
from bot.core.leases import named_lease, new_replica_id
from bot.core.token_cipher import TokenCipher
from bot.core.workspaces import Workspace

log = logging.getLogger(__name__)

INSTALL_PATH = "/slack/install"
REDIRECT_PATH = "/slack/oauth_redirect"
# Slack's own defaults: a state lives 10 minutes; a bot token is refreshed when it has less
# than this left (Slack issues 12-hour tokens when token rotation is on).
STATE_SECONDS = 600
REFRESH_MINUTES = 120
# The process-wide clients re-read a workspace's installation this often (an install, a
# rotation or an uninstall in another replica is seen within this).
TOKEN_READ_SECONDS = 30.0
# How long the list of an org-wide install's workspaces is trusted.
ORG_TEAMS_SECONDS = 600.0
# Handled at the front door by Bolt's built-in listeners, not stored for the workers.
REVOCATION_EVENTS = frozenset({"app_uninstalled", "tokens_revoked"})
# The durable task that tells the installer, in Slack, what to do next.
WELCOME_TASK = "slack.welcome"
NEXT_STEPS = (
    "Invite it to the channels it should watch: `/invite @opsbot`.",
    "Type `/ops help` to see every command.",
    "Declare an incident with `/incident declare <title>`, or open opsbot's Home tab.",
)

installations_table = AsyncSQLAlchemyInstallationStore.build_installations_table(
    Base.metadata, AsyncSQLAlchemyInstallationStore.default_installations_table_name
)
bots_table = AsyncSQLAlchemyInstallationStore.build_bots_table(
    Base.metadata, AsyncSQLAlchemyInstallationStore.default_bots_table_name
)
oauth_states_table = AsyncSQLAlchemyOAuthStateStore.build_oauth_states_table(
    Base.metadata, AsyncSQLAlchemyOAuthStateStore.default_table_name
)


def expiring(installation: Installation) -> bool:
    """Whether a bot token is to be refreshed before use (it has a refresh token and less than
    REFRESH_MINUTES left)."""
    expires_at = installation.bot_token_expires_at
    if installation.bot_refresh_token is None or expires_at is None:
        return False
    return float(expires_at) - time.time() < REFRESH_MINUTES * 60


class Authorize(AsyncInstallationStoreAuthorize):
    """Bolt's authorization from the store, its expiring tokens refreshed by `refresh`
    (`Installations.refresh`: once across this process and every other replica)."""

    def __init__(
        self,
        rotating: asyncio.Lock,
        refresh: Callable[[Installation], Awaitable[Installation | None]],
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.rotating = rotating
        self.refresh = refresh

    async def _rotate_and_save_tokens_if_necessary(
        self, installation: Installation | None
    ) -> Installation | None:
        if installation is None or not expiring(installation):
            return None  # the common case: no lock, no query
        async with self.rotating:
            return await self.refresh(installation)


class InstallationStore(AsyncSQLAlchemyInstallationStore):
    """slack_sdk's installation store on opsbot's engine and tables; `on_change` hooks run
    after this process saves or deletes an installation."""

    def __init__(
        self, client_id: str, engine: AsyncEngine, cipher: TokenCipher | None = None
    ) -> None:
        super().__init__(client_id=client_id, engine=engine)
        self.cipher = cipher  # tokens encrypted at rest (OPSBOT_TOKEN_KEY)
        self.metadata = Base.metadata
        self.installations = installations_table
        self.bots = bots_table
        self.on_change: list[Callable[[], None]] = []
        # A workspace's bot token was deleted (it uninstalled), or one was saved (installed).
        self.on_departure: list[Callable[[Workspace], Awaitable[None]]] = []
        self.on_install: list[Callable[[Workspace], Awaitable[None]]] = []

    def _changed(self) -> None:
        for hook in self.on_change:
            hook()

    async def async_save(self, installation: Installation) -> None:
        # The bots row is written from the same copy (`to_bot()`), encrypted too.
        await super().async_save(self.cipher.sealed(installation) if self.cipher else installation)
        self._changed()
        workspace = Workspace(installation.team_id or "", installation.enterprise_id)
        for hook in self.on_install:
            await hook(workspace)

    async def async_find_installation(
        self,
        *,
        enterprise_id: str | None,
        team_id: str | None,
        user_id: str | None = None,
        is_enterprise_install: bool | None = False,
    ) -> Installation | None:
        found = await super().async_find_installation(
            enterprise_id=enterprise_id,
            team_id=team_id,
            user_id=user_id,
            is_enterprise_install=is_enterprise_install,
        )
        return self.cipher.opened(found) if self.cipher and found else found

    async def async_find_bot(
        self,
        *,
        enterprise_id: str | None,
        team_id: str | None,
        is_enterprise_install: bool | None = False,
    ) -> Bot | None:
        found = await super().async_find_bot(
            enterprise_id=enterprise_id,
            team_id=team_id,
            is_enterprise_install=is_enterprise_install,
        )
        return self.cipher.opened(found) if self.cipher and found else found

    async def async_delete_bot(self, *, enterprise_id: str | None, team_id: str | None) -> None:
        await super().async_delete_bot(enterprise_id=enterprise_id, team_id=team_id)
        self._changed()
        for hook in self.on_departure:
            await hook(Workspace(team_id or "", enterprise_id))

    async def async_delete_installation(
        self, *, enterprise_id: str | None, team_id: str | None, user_id: str | None = None
    ) -> None:
        await super().async_delete_installation(
            enterprise_id=enterprise_id, team_id=team_id, user_id=user_id
        )
        self._changed()


class OAuthStateStore(AsyncSQLAlchemyOAuthStateStore):
    """slack_sdk's OAuth state store on opsbot's engine and table: a state is used once."""

    def __init__(self, engine: AsyncEngine, expiration_seconds: int = STATE_SECONDS) -> None:
        super().__init__(expiration_seconds=expiration_seconds, engine=engine)
        self.metadata = Base.metadata
        self.oauth_states = oauth_states_table


async def prune_states(sessions: async_sessionmaker[AsyncSession], now: dt.datetime) -> int:
    """Delete install states that expired unused (a used one is deleted when it is consumed)."""
    expired = oauth_states_table.c.expire_at < normalize_datetime_for_db(now)
    async with transaction(sessions) as session:
        return affected(await session.execute(delete(oauth_states_table).where(expired)))


def authorize_url(api_url: str) -> str:
    """Slack's authorize page beside its Web API: https://slack.com/api/ ->
    https://slack.com/oauth/v2/authorize (the sandbox serves the same path)."""
    base = api_url if api_url.endswith("/") else api_url + "/"
    return base.removesuffix("api/") + "oauth/v2/authorize"


@dataclass
@dataclass
class _Token:
    token: str | None
    read_at: float
    expires_at: float | None
    org_wide: bool = False  # an Enterprise Grid org's install: calls name their workspace

    def usable(self, now: float) -> bool:
        fresh = now - self.read_at < TOKEN_READ_SECONDS
        expiring = self.expires_at is not None and self.expires_at - now < REFRESH_MINUTES * 60
        return fresh and not expiring


class Installations:
    """The stores, the flow's settings and the authorization of OAuth mode."""

    def __init__(
        self,
        *,
        client_id: str,
        client_secret: str,
        scopes: Sequence[str],
        public_url: str,
        api_url: str,
        engine: AsyncEngine,
        client: AsyncWebClient,
        cipher: TokenCipher | None = None,
    ) -> None:
        self.client_id = client_id
        self.store = InstallationStore(client_id, engine, cipher)
        self.states = OAuthStateStore(engine)
        self.engine = engine
        self.client = client
        # org -> (when asked, the workspaces its org-wide install is approved for)
        self._org_teams: dict[str, tuple[float, frozenset[str]]] = {}
        self.rotator = AsyncTokenRotator(
            client_id=client_id, client_secret=client_secret, client=client
        )
        # Bolt's authorization from the store. Its auth.test answer is cached per token, so a
        # request from a known workspace costs the store's query, not a Web API call; a new
        # token (an install, a rotation) is asked about once.
        # One refresh at a time in this process: a refresh token works once, so the front
        # door and the workers refreshing the same token together would make one of them fail.
        self.rotating = asyncio.Lock()
        # ...and one across replicas, for the same reason (`refresh`).
        self.replica = new_replica_id()
        self.authorize = Authorize(
            self.rotating,
            self.refresh,
            logger=log,
            installation_store=self.store,
            client_id=client_id,
            client_secret=client_secret,
            token_rotation_expiration_minutes=REFRESH_MINUTES,
            cache_enabled=True,
            client=client,  # token refreshes go to SLACK_API_URL, not slack.com
        )
        self.settings = AsyncOAuthSettings(
            client_id=client_id,
            client_secret=client_secret,
            scopes=list(scopes),
            user_scopes=[],
            redirect_uri=public_url.rstrip("/") + REDIRECT_PATH,
            install_path=INSTALL_PATH,
            redirect_uri_path=REDIRECT_PATH,
            authorization_url=authorize_url(api_url),
            installation_store=self.store,
            state_store=self.states,
            state_expiration_seconds=STATE_SECONDS,
            token_rotation_expiration_minutes=REFRESH_MINUTES,
            callback_options=AsyncCallbackOptions(success=self.installed, failure=self.refused),
            logger=log,
        )
        self.settings.authorize = self.authorize
        self._tokens: dict[Workspace | None, _Token] = {}
        # Run once an install through the flow is stored (the installer's welcome).
        self.on_completed: list[Callable[[Installation], Awaitable[None]]] = []
        self.store.on_change.append(self.forget_token)

    def forget_token(self) -> None:
        """Read the installations again at the next call (this process changed one)."""
        self._tokens.clear()

    # -- the pages the installer sees ---------------------------------------------

    async def installed(self, args: AsyncSuccessArgs) -> BoltResponse:
        installation = args.installation
        log.info(
            "installed in workspace %s (%s)",
            installation.team_id,
            installation.team_name,
            extra={"team_id": installation.team_id},
        )
        for hook in self.on_completed:
            try:
                await hook(installation)
            except Exception:  # the install is stored; the page still says so
                log.exception("after installing in %s", installation.team_id)
        return _page(
            200,
            "opsbot is installed",
            _installed_body(installation),
            args.settings.state_utils.build_set_cookie_for_deletion(),
        )

    async def refused(self, args: AsyncFailureArgs) -> BoltResponse:
        reason = args.reason[:100]  # Slack's `error`, or whatever the query said it was
        log.warning("install refused: %r", reason, extra={"reason": reason})
        return _page(
            args.suggested_status_code,
            "opsbot was not installed",
            f"<p>{html.escape(_refusal(args.reason))}</p>"
            f'<p><a href="{INSTALL_PATH}">Start the installation again</a>.</p>',
            args.settings.state_utils.build_set_cookie_for_deletion(),
        )

    # -- the process-wide clients' tokens ------------------------------------------

    async def bot_token(self) -> str | None:
        """The bot token of the workspace the running work is within, refreshed when it expires
        soon; outside any workspace, that of the only workspace installed. None when there is
        no such installation (not installed, uninstalled, or several and no workspace)."""
        workspace = workspaces.current()
        now = time.time()
        known = self._tokens.get(workspace)
        if known is not None and known.usable(now):
            return known.token
        # One read (and one refresh) for the callers waiting, after any refresh under way.
        async with self.rotating:
            known = self._tokens.get(workspace)
            if known is not None and known.usable(now):
                return known.token
            return await self._read(workspace, now)

    async def _read(self, workspace: Workspace | None, now: float) -> str | None:
        """Read the installation, refreshing its token if it expires soon (`rotating` held)."""
        installation = await self.find(workspace)
        if installation is not None and expiring(installation):
            try:
                installation = await self.refresh(installation) or installation
            except SlackTokenRotationError as error:
                log.warning("bot token refresh failed: %r", error)
        token, expires_at, org_wide = None, None, False
        if installation is not None:
            token, expires_at = installation.bot_token, installation.bot_token_expires_at
            org_wide = bool(installation.is_enterprise_install)
        self._tokens[workspace] = _Token(
            token, now, float(expires_at) if expires_at is not None else None, org_wide
        )
        return token

    async def refresh(self, installation: Installation) -> Installation | None:
        """The installation with a fresh bot token (None: nothing newer to use).

        A refresh token works once, so one replica refreshes and the others wait for it, then
        read what it saved: the lease is per installation, and whoever holds it reads the
        installation again first, in case the token was refreshed while it waited."""
        lease = f"slack-token:{installation.enterprise_id or ''}:{installation.team_id or ''}"
        async with named_lease(self.engine, lease, self.replica):
            latest = await self.store.async_find_installation(
                enterprise_id=installation.enterprise_id,
                team_id=installation.team_id,
                is_enterprise_install=installation.is_enterprise_install,
            )
            if latest is None:
                return None  # uninstalled meanwhile
            if not expiring(latest):
                return latest if latest.bot_token != installation.bot_token else None
            refreshed = await self.rotator.perform_token_rotation(
                installation=latest, minutes_before_expiration=REFRESH_MINUTES
            )
            if refreshed is not None:
                await self.store.async_save(refreshed)
            return refreshed

    def org_team(self) -> str | None:
        """The workspace a call is for, when the token serving it is an org-wide install's
        (Slack then needs `team_id` on the methods that act in one workspace)."""
        workspace = workspaces.current()
        known = self._tokens.get(workspace)
        if workspace is None or known is None or not known.org_wide:
            return None
        return workspace.team_id

    async def find(self, workspace: Workspace | None) -> Installation | None:
        """The installation serving `workspace`: its own, or its org's (an org-wide install);
        outside any workspace, the only one."""
        if workspace is None:
            return await self._sole_installation()
        own = await self.store.async_find_installation(
            enterprise_id=workspace.enterprise_id, team_id=workspace.team_id
        )
        if own is not None:
            return own
        if workspace.enterprise_id is None:  # named by its team alone (a CI route's `team`)
            org = await self._org_of(workspace.team_id)
            return await self.find(Workspace(workspace.team_id, org)) if org else None
        return await self.store.async_find_installation(
            enterprise_id=workspace.enterprise_id, team_id=None, is_enterprise_install=True
        )

    async def _org_of(self, team_id: str) -> str | None:
        """The Grid org of a workspace: one installed on its own inside it, or one an org-wide
        install is approved for (Slack's `auth.teams.list`)."""
        c = bots_table.c
        async with self.engine.connect() as connection:
            own = await connection.scalar(
                select(c.enterprise_id)
                .where(c.client_id == self.client_id, c.team_id == team_id)
                .where(c.enterprise_id.is_not(None))
                .limit(1)
            )
            if own is not None:
                return str(own)
            org_wide = await connection.scalars(
                select(c.enterprise_id)
                .where(c.client_id == self.client_id, c.is_enterprise_install.is_(True))
                .where(c.bot_token.is_not(None), c.enterprise_id.is_not(None))
                .distinct()
            )
            orgs = [str(org) for org in org_wide]
        for org in orgs:
            if team_id in await self._teams_of(org):
                return org
        return None

    async def _teams_of(self, org: str) -> frozenset[str]:
        """The workspaces an org-wide install is approved for, asked at most every
        ORG_TEAMS_SECONDS (an org admin may add the app to a workspace at any time)."""
        known = self._org_teams.get(org)
        if known is not None and time.monotonic() - known[0] < ORG_TEAMS_SECONDS:
            return known[1]
        bot = await self.store.async_find_bot(
            enterprise_id=org, team_id=None, is_enterprise_install=True
        )
        teams: set[str] = set()
        cursor: str | None = None
        try:
            while bot is not None and bot.bot_token:
                page = await self.client.auth_teams_list(
                    token=bot.bot_token, cursor=cursor, limit=100
                )
                teams |= {str(team["id"]) for team in page.get("teams") or []}
                cursor = (page.get("response_metadata") or {}).get("next_cursor") or None
                if not cursor:
                    break
        except SlackApiError as error:
            log.warning("auth.teams.list failed for %s: %s", org, error.response.get("error"))
            return frozenset()
        found = frozenset(teams)
        self._org_teams[org] = (time.monotonic(), found)
        return found

    async def _sole_installation(self) -> Installation | None:
        c = bots_table.c
        installed = (
            select(c.enterprise_id, c.team_id, c.is_enterprise_install)
            .where(c.client_id == self.client_id, c.bot_token.is_not(None))
            .distinct()
            .limit(2)
        )
        async with self.engine.connect() as connection:
            rows = (await connection.execute(installed)).all()
        if len({(row.enterprise_id, row.team_id) for row in rows}) != 1:
            return None
        row = rows[0]
        return await self.store.async_find_installation(
            enterprise_id=row.enterprise_id,
            team_id=row.team_id,
            is_enterprise_install=row.is_enterprise_install,
        )


REFUSALS = {
    "access_denied": "The installation was cancelled in Slack; nothing was installed.",
    "invalid_browser": "This page was not reached from the installation this browser started "
    "(or the install page was not served over https), so nothing was installed.",
    "invalid_state": "This installation link has expired or was already used, so nothing was "
    "installed.",
    "missing_code": "Slack did not send the installation code, so nothing was installed.",
    "invalid_code": "Slack did not accept the installation code (it may have been used "
    "already), so nothing was installed.",
    "storage_error": "The installation could not be saved; nothing was installed. Try again "
    "in a minute.",
}


def _refusal(reason: str) -> str:
    return REFUSALS.get(reason, f"Slack answered {reason!r}, so nothing was installed.")


def _installed_body(installation: Installation) -> str:
    team = html.escape(installation.team_name or installation.team_id or "your workspace")
    query = urlencode({"app": installation.app_id or "", "team": installation.team_id or ""})
    return (
        f"<p>opsbot is installed in <strong>{team}</strong>.</p>"
        "<h2>Next steps</h2><ol>"
        + "".join(f"<li>{_code(html.escape(step))}</li>" for step in NEXT_STEPS)
        + "</ol>"
        f'<p><a href="https://slack.com/app_redirect?{html.escape(query)}">Open Slack</a></p>'
    )


def _code(text: str) -> str:
    """`a` becomes <code>a</code>, as Slack would show it."""
    parts = text.split("`")
    return "".join(f"<code>{part}</code>" if i % 2 else part for i, part in enumerate(parts))


def welcome_text(installation: Installation) -> str:
    """What the installer is told in Slack once the install is stored."""
    team = installation.team_name or installation.enterprise_name or "your workspace"
    steps = "\n".join(f"{n}. {step}" for n, step in enumerate(NEXT_STEPS, 1))
    return f"opsbot is installed in {team}. Next steps:\n{steps}"


def welcome_payload(installation: Installation) -> dict[str, str]:
    return {"user": installation.user_id, "text": welcome_text(installation)}


def workspace_of(installation: Installation) -> Workspace:
    """The workspace an installation serves (an org-wide one: named by its org)."""
    team = installation.team_id or installation.enterprise_id or ""
    return Workspace(team, installation.enterprise_id)


def _page(status: int, title: str, body: str, cookie: str) -> BoltResponse:
    document = (
        "<!doctype html><html><head><meta charset='utf-8'>"
        f"<title>{html.escape(title)}</title></head>"
        f"<body><h1>{html.escape(title)}</h1>{body}</body></html>"
    )
    return BoltResponse(
        status=status,
        body=document,
        headers={"Content-Type": "text/html; charset=utf-8", "Set-Cookie": cookie},
    )
