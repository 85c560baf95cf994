"""Several workspaces and an Enterprise Grid org, through the sandbox's real HTTP interface:
installs per workspace and org-wide, tokens that reach only their own workspaces, and what
Slack sends the app from each workspace."""

from __future__ import annotations

from urllib.parse import parse_qs, urlencode, urlsplit

import httpx
import pytest
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.sandbox import Sandbox, SandboxState, SlackDriver
from bot.sandbox.oauth import CLIENT_ID, CLIENT_SECRET
from bot.sandbox.seed import ALICE, GENERAL
from bot.sandbox.state import BOT_USER_ID, TEAM_ID

from .conftest import Receiver

REDIRECT = "https://bot.example.com/slack/oauth_redirect"
BETA, BETA_USER, BETA_CHANNEL = "T0BETA", "U0BEA", "C0BETAGEN"
ORG, EAST, WEST = "E0STARSHIP", "T0EAST", "T0WEST"
EVE, WES = "W0EVE", "W0WES"  # org-wide user ids, as in a Grid org
EAST_CHANNEL, SHARED = "C0EAST", "C0SHARED"


async def install(sandbox: Sandbox, team: str | None = None, **extra: str) -> dict:
    """The installer approves on the authorize page; the app exchanges the code."""
    params = {"client_id": CLIENT_ID, "scope": "chat:write,commands", "state": "s",
              "redirect_uri": REDIRECT, **({"team": team} if team else {}), **extra}  # fmt: skip
    async with httpx.AsyncClient() as browser:
        page = await browser.get(f"{sandbox.base}/oauth/v2/authorize?{urlencode(params)}")
    assert page.status_code == 302, page.text
    code = parse_qs(urlsplit(page.headers["location"]).query)["code"][0]
    app = AsyncWebClient(base_url=sandbox.url)
    answer = await app.oauth_v2_access(
        client_id=CLIENT_ID, client_secret=CLIENT_SECRET, code=code, redirect_uri=REDIRECT
    )
    return dict(answer.data)  # type: ignore[arg-type]


async def error_of(call: object) -> str:
    with pytest.raises(SlackApiError) as info:
        await call  # type: ignore[misc]
    return str(info.value.response["error"])


def add_beta(state: SandboxState) -> None:
    state.add_workspace(BETA, "Beta Corp")
    state.add_user(BETA_USER, "bea", email="bea@beta.example", team=BETA)
    bot = state.workspace(BETA).bot_user_id
    state.add_channel("general", [BETA_USER, bot], id=BETA_CHANNEL, team=BETA, is_general=True)


def add_org(state: SandboxState) -> None:
    state.add_enterprise(ORG, "Starship")
    state.add_workspace(EAST, "East", ORG)
    state.add_workspace(WEST, "West", ORG)
    state.add_user(EVE, "eve", team=EAST)
    state.add_user(WES, "wes", team=WEST)
    bot = state.enterprises[ORG].bot_user_id
    state.add_channel("east", [EVE, bot], id=EAST_CHANNEL, team=EAST)
    state.add_channel("launch", [EVE, WES, bot], id=SHARED, team=EAST, shared_with=[WEST])


def client(sandbox: Sandbox, token: str) -> AsyncWebClient:
    return AsyncWebClient(token=token, base_url=sandbox.url)


async def test_each_workspace_install_has_its_own_bot_and_reaches_only_its_workspace(
    sandbox: Sandbox,
) -> None:
    state = sandbox.state
    state.valid_tokens = set()
    add_beta(state)
    home = await install(sandbox)
    beta = await install(sandbox, BETA)
    assert home["team"] == {"id": TEAM_ID, "name": "Sandbox"}
    assert beta["team"] == {"id": BETA, "name": "Beta Corp"}
    assert beta["enterprise"] is None and beta["is_enterprise_install"] is False
    assert home["bot_user_id"] == BOT_USER_ID
    assert beta["bot_user_id"] == state.workspace(BETA).bot_user_id != BOT_USER_ID
    assert beta["authed_user"] == {"id": BETA_USER}  # one of that workspace's people
    issued = state.oauth.tokens[beta["access_token"]]
    assert (issued.team_id, issued.enterprise_id) == (BETA, None)

    a, b = client(sandbox, home["access_token"]), client(sandbox, beta["access_token"])
    me_a, me_b = await a.auth_test(), await b.auth_test()
    assert (me_a["team_id"], me_a["user_id"], me_a["bot_id"]) == (TEAM_ID, BOT_USER_ID, "B0OPSBOT")
    assert (me_b["team_id"], me_b["user_id"]) == (BETA, beta["bot_user_id"])
    assert me_b["bot_id"] == state.workspace(BETA).bot_id and me_b["team"] == "Beta Corp"
    assert me_b["is_enterprise_install"] is False and "enterprise_id" not in me_b.data

    posted = await b.chat_postMessage(channel=BETA_CHANNEL, text="hello beta")
    assert posted["message"]["user"] == beta["bot_user_id"]
    assert posted["message"]["team"] == BETA
    assert await error_of(b.chat_postMessage(channel=GENERAL, text="x")) == "channel_not_found"
    assert await error_of(a.chat_postMessage(channel=BETA_CHANNEL, text="x")) == "channel_not_found"
    assert await error_of(b.conversations_info(channel=GENERAL)) == "channel_not_found"
    assert await error_of(b.users_info(user=ALICE)) == "user_not_found"
    assert await error_of(a.users_info(user=BETA_USER)) == "user_not_found"
    assert (await b.users_info(user=BETA_USER))["user"]["team_id"] == BETA
    home_view = {"type": "home", "blocks": []}
    assert await error_of(b.views_publish(user_id=ALICE, view=home_view)) == "user_not_found"
    assert (await b.views_publish(user_id=BETA_USER, view=home_view))["ok"]
    ts = state.post(GENERAL, ALICE, "in the default workspace").ts
    assert await error_of(b.reactions_add(channel=GENERAL, timestamp=ts, name="eyes")) == (
        "channel_not_found"
    )
    assert await error_of(b.pins_add(channel=GENERAL, timestamp=ts)) == "channel_not_found"
    assert (await a.reactions_add(channel=GENERAL, timestamp=ts, name="eyes"))["ok"]
    listed = await b.conversations_list()
    assert [c["id"] for c in listed["channels"]] == [BETA_CHANNEL]
    members = {u["id"] for u in (await b.users_list())["members"]}
    assert members == {BETA_USER, beta["bot_user_id"]}
    assert (await b.conversations_info(channel=BETA_CHANNEL))["channel"]["is_member"] is True

    # The call log says which workspace each call's token belongs to.
    for call in state.calls_for(BETA):
        assert call.token == beta["access_token"]
    for call in state.calls_for(TEAM_ID):
        assert call.token == home["access_token"]
    assert {c.team_id for c in state.calls if c.method != "oauth.v2.access"} == {TEAM_ID, BETA}


async def test_an_org_wide_install_reaches_every_workspace_of_the_org(sandbox: Sandbox) -> None:
    state = sandbox.state
    state.valid_tokens = set()
    add_org(state)
    org = await install(sandbox, ORG)  # the installer picks the org, not one workspace
    bot = state.enterprises[ORG].bot_user_id
    assert org["team"] is None and org["is_enterprise_install"] is True
    assert org["enterprise"] == {"id": ORG, "name": "Starship"}
    assert org["bot_user_id"] == bot == state.workspace(EAST).bot_user_id
    assert state.enterprises[ORG].org_installed
    issued = state.oauth.tokens[org["access_token"]]
    assert (issued.team_id, issued.enterprise_id, issued.is_enterprise_install) == (
        None,
        ORG,
        True,
    )

    e = client(sandbox, org["access_token"])
    me = await e.auth_test()
    assert (me["team_id"], me["enterprise_id"], me["user_id"]) == (ORG, ORG, bot)
    assert me["is_enterprise_install"] is True and me["team"] == "Starship"
    assert me["url"].startswith("https://starship.enterprise.")

    east = await e.chat_postMessage(channel=EAST_CHANNEL, text="east")
    assert east["message"]["user"] == bot and east["message"]["team"] == EAST
    assert east["message"]["bot_profile"]["id"] == state.enterprises[ORG].bot_id
    assert (await e.chat_postMessage(channel=SHARED, text="both"))["ok"]
    assert (await e.users_info(user=WES))["user"]["team_id"] == WEST
    assert await error_of(e.chat_postMessage(channel=GENERAL, text="x")) == "channel_not_found"
    assert await error_of(e.users_info(user=ALICE)) == "user_not_found"
    # Methods that list a workspace's things need the workspace named, as Slack documents.
    assert await error_of(e.conversations_list()) == "missing_argument"
    west = await e.conversations_list(team_id=WEST)
    assert [c["id"] for c in west["channels"]] == [SHARED]

    shared = (await e.conversations_info(channel=SHARED))["channel"]
    assert shared["is_shared"] is True and shared["is_org_shared"] is True
    assert shared["is_ext_shared"] is False
    assert shared["shared_team_ids"] == [EAST, WEST]
    assert {c.token for c in state.calls_for(ORG)} == {org["access_token"]}
    assert all(c.enterprise_id == ORG and c.team_id is None for c in state.calls_for(ORG))


async def test_a_workspace_install_in_an_org_sees_shared_channels_from_its_side(
    sandbox: Sandbox,
) -> None:
    state = sandbox.state
    state.valid_tokens = set()
    add_org(state)
    west = await install(sandbox, WEST)  # only the one workspace, not the org
    assert west["team"] == {"id": WEST, "name": "West"}
    assert west["enterprise"] == {"id": ORG, "name": "Starship"}
    assert west["is_enterprise_install"] is False
    w = client(sandbox, west["access_token"])
    me = await w.auth_test()
    assert (me["team_id"], me["enterprise_id"], me["is_enterprise_install"]) == (WEST, ORG, False)
    info = (await w.conversations_info(channel=SHARED))["channel"]
    assert info["context_team_id"] == WEST and info["shared_team_ids"] == [EAST, WEST]
    assert await error_of(w.conversations_info(channel=EAST_CHANNEL)) == "channel_not_found"
    assert await error_of(w.users_info(user=EVE)) == "user_not_found"


async def test_a_refreshed_token_keeps_its_workspace(sandbox: Sandbox) -> None:
    state = sandbox.state
    add_beta(state)
    state.oauth.token_rotation = True
    first = await install(sandbox, BETA)
    app = AsyncWebClient(base_url=sandbox.url)
    fresh = await app.oauth_v2_access(
        client_id=CLIENT_ID,
        client_secret=CLIENT_SECRET,
        grant_type="refresh_token",
        refresh_token=first["refresh_token"],
    )
    assert fresh["team"] == {"id": BETA, "name": "Beta Corp"}
    assert fresh["bot_user_id"] == first["bot_user_id"]
    assert (await client(sandbox, fresh["access_token"]).auth_test())["team_id"] == BETA


async def test_the_authorize_page_refuses_an_unknown_team(sandbox: Sandbox) -> None:
    params = {
        "client_id": CLIENT_ID,
        "scope": "chat:write",
        "team": "T0NOPE",
        "redirect_uri": REDIRECT,
    }
    async with httpx.AsyncClient() as browser:
        page = await browser.get(f"{sandbox.base}/oauth/v2/authorize?{urlencode(params)}")
    assert page.status_code == 400 and "invalid_team" in page.text


async def test_commands_events_and_actions_carry_the_users_workspace(
    sandbox: Sandbox, driver: SlackDriver, receiver: Receiver
) -> None:
    state = sandbox.state
    add_beta(state)
    beta_bot = state.workspace(BETA).bot_user_id

    await driver.command("/ops", "help", user=BETA_USER, channel=BETA_CHANNEL)
    form = dict(receiver.requests[-1].form())
    assert (form["team_id"], form["team_domain"]) == (BETA, "beta-corp")
    assert form["is_enterprise_install"] == "false" and "enterprise_id" not in form

    await driver.user_message(BETA_CHANNEL, BETA_USER, f"hi <@{beta_bot}>")
    message, mention = (r.json() for r in receiver.requests[-2:])
    assert mention["event"]["type"] == "app_mention"  # the mention of Beta's own bot
    assert message["team_id"] == message["context_team_id"] == BETA
    assert message["event"]["team"] == BETA
    assert message["authorizations"] == [
        {"enterprise_id": None, "team_id": BETA, "user_id": beta_bot, "is_bot": True,
         "is_enterprise_install": False}
    ]  # fmt: skip
    assert "enterprise_id" not in message and message["context_enterprise_id"] is None

    await driver.block_action(BETA_USER, "ack", "1")
    action = receiver.requests[-1].json()
    assert action["team"] == {"id": BETA, "domain": "beta-corp"}
    assert action["user"]["team_id"] == BETA
    assert action["enterprise"] is None and action["is_enterprise_install"] is False

    # The default workspace's requests are as before.
    await driver.app_home_opened(ALICE)
    home = receiver.requests[-1].json()
    assert home["team_id"] == TEAM_ID and home["authorizations"][0]["user_id"] == BOT_USER_ID


async def test_org_requests_carry_the_enterprise_and_the_org_install(
    sandbox: Sandbox, driver: SlackDriver, receiver: Receiver
) -> None:
    state = sandbox.state
    add_org(state)
    await install(sandbox, ORG)
    bot = state.enterprises[ORG].bot_user_id

    await driver.command("/ops", "", user=WES, channel=SHARED)
    form = receiver.requests[-1].form()
    keys = [k for k, _ in form]
    assert keys[:5] == ["token", "team_id", "team_domain", "enterprise_id", "enterprise_name"]
    fields = dict(form)
    assert (fields["team_id"], fields["enterprise_id"]) == (WEST, ORG)
    assert fields["enterprise_name"] == "Starship" and fields["is_enterprise_install"] == "true"

    # A message in a channel shared by two workspaces of the org: one delivery, for the
    # workspace where it was written, to the org-wide install.
    before = len(receiver.requests)
    await driver.user_message(SHARED, WES, "from the west side")
    assert len(receiver.requests) == before + 1
    env = receiver.requests[-1].json()
    assert (env["team_id"], env["enterprise_id"]) == (WEST, ORG)
    assert (env["context_team_id"], env["context_enterprise_id"]) == (WEST, ORG)
    assert env["authorizations"] == [
        {"enterprise_id": ORG, "team_id": None, "user_id": bot, "is_bot": True,
         "is_enterprise_install": True}
    ]  # fmt: skip

    await driver.global_shortcut(EVE, "new_incident")
    shortcut = receiver.requests[-1].json()
    assert shortcut["team"] == {
        "id": EAST,
        "domain": "east",
        "enterprise_id": ORG,
        "enterprise_name": "Starship",
    }
    assert shortcut["enterprise"] == {"id": ORG, "name": "Starship"}
    assert shortcut["is_enterprise_install"] is True and shortcut["user"]["team_id"] == EAST


async def test_uninstalling_from_one_workspace_leaves_the_other_working(
    sandbox: Sandbox, driver: SlackDriver, receiver: Receiver
) -> None:
    state = sandbox.state
    state.valid_tokens = set()
    add_beta(state)
    home = await install(sandbox)
    beta = await install(sandbox, BETA)

    await driver.uninstall_app(team=BETA)
    revoked, uninstalled = (r.json() for r in receiver.requests[-2:])
    assert revoked["event"] == {
        "type": "tokens_revoked",
        "tokens": {"oauth": [], "bot": [beta["bot_user_id"]]},
    }
    assert uninstalled["event"]["type"] == "app_uninstalled"
    assert revoked["team_id"] == uninstalled["team_id"] == BETA
    assert await error_of(client(sandbox, beta["access_token"]).auth_test()) == "token_revoked"
    assert (await client(sandbox, home["access_token"]).auth_test())["team_id"] == TEAM_ID

    await driver.uninstall_app()  # the default workspace, as before
    assert receiver.requests[-1].json()["team_id"] == TEAM_ID
    assert await error_of(client(sandbox, home["access_token"]).auth_test()) == "token_revoked"


async def test_uninstalling_the_org_wide_install(
    sandbox: Sandbox, driver: SlackDriver, receiver: Receiver
) -> None:
    state = sandbox.state
    add_org(state)
    org = await install(sandbox, ORG)
    await driver.uninstall_app(team=ORG)
    env = receiver.requests[-1].json()
    assert env["team_id"] is None and env["enterprise_id"] == ORG
    assert env["authorizations"][0]["is_enterprise_install"] is True
    assert not state.enterprises[ORG].org_installed
    assert await error_of(client(sandbox, org["access_token"]).auth_test()) == "token_revoked"


async def test_legacy_tokens_stay_in_the_default_workspace(sandbox: Sandbox) -> None:
    state = sandbox.state
    add_beta(state)
    legacy = client(sandbox, "xoxb-anything")
    assert (await legacy.auth_test())["team_id"] == TEAM_ID
    assert await error_of(legacy.conversations_info(channel=BETA_CHANNEL)) == "channel_not_found"
    assert (await legacy.conversations_info(channel=GENERAL))["ok"]
    assert {c.team_id for c in state.calls} == {TEAM_ID}
    await error_of(client(sandbox, "bogus").auth_test())
    assert state.calls[-1].team_id is None


def test_renaming_the_default_workspace_moves_its_people_and_channels() -> None:
    state = SandboxState()
    state.team_id = "T0OTHER"
    assert state.workspace().team_id == "T0OTHER" and TEAM_ID not in state.workspaces
    assert state.users[ALICE].team_id == state.channels[GENERAL].team_id == "T0OTHER"
