"""Request bodies Slack sends to an app: slash commands and interaction payloads.

Each carries the acting person's workspace (`team_id`/`team`), and in an Enterprise Grid
org its `enterprise` and whether the app is installed org-wide (`is_enterprise_install`).
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

from .models import JsonDict
from .serialize import message_json
from .tenancy import org_installed, team_of_user

if TYPE_CHECKING:
    from .state import SandboxState

# Deprecated by Slack but still sent in every payload
VERIFICATION_TOKEN = "sandboxVerificationToken0"


def user_ref(state: SandboxState, user_id: str) -> JsonDict:
    user = state.users.get(user_id)
    name = user.name if user else user_id
    return {"id": user_id, "username": name, "name": name, "team_id": team_of_user(state, user_id)}


def team_ref(state: SandboxState, team_id: str | None = None) -> JsonDict:
    workspace = state.workspace(team_id)
    ref: JsonDict = {"id": workspace.team_id, "domain": workspace.domain}
    org = state.enterprises.get(workspace.enterprise_id or "")
    if org is not None:
        ref.update(enterprise_id=org.enterprise_id, enterprise_name=org.name)
    return ref


def enterprise_ref(state: SandboxState, team_id: str) -> JsonDict | None:
    org = state.enterprises.get(state.workspace(team_id).enterprise_id or "")
    return None if org is None else {"id": org.enterprise_id, "name": org.name}


def _org_install(state: SandboxState, team_id: str) -> bool:
    return org_installed(state, state.workspace(team_id).enterprise_id)


def channel_ref(state: SandboxState, channel_id: str) -> JsonDict:
    channel = state.channels.get(channel_id)
    if channel is None:
        return {"id": channel_id, "name": channel_id}
    return {"id": channel_id, "name": "directmessage" if channel.is_im else channel.name}


def action_ts() -> str:
    return f"{time.time():.6f}"


def slash_command_form(
    state: SandboxState,
    *,
    command: str,
    text: str,
    user: str,
    channel: str,
    response_url: str,
    trigger_id: str,
) -> list[tuple[str, str]]:
    """Field order matches what Slack sends, which matters for byte-exact signatures."""
    author = state.users.get(user)
    workspace = state.workspace(team_of_user(state, user))
    enterprise = enterprise_ref(state, workspace.team_id)
    org_fields = (
        [("enterprise_id", enterprise["id"]), ("enterprise_name", enterprise["name"])]
        if enterprise
        else []
    )
    org_wide = "true" if _org_install(state, workspace.team_id) else "false"
    return [
        ("token", VERIFICATION_TOKEN),
        ("team_id", workspace.team_id),
        ("team_domain", workspace.domain),
        *org_fields,
        ("channel_id", channel),
        ("channel_name", channel_ref(state, channel)["name"]),
        ("user_id", user),
        ("user_name", author.name if author else user),
        ("command", command),
        ("text", text),
        ("api_app_id", state.app_id),
        ("is_enterprise_install", org_wide),
        ("response_url", response_url),
        ("trigger_id", trigger_id),
    ]


def _base(state: SandboxState, kind: str, user: str) -> JsonDict:
    team = team_of_user(state, user)
    return {
        "type": kind,
        "user": user_ref(state, user),
        "api_app_id": state.app_id,
        "token": VERIFICATION_TOKEN,
        "team": team_ref(state, team),
        "enterprise": enterprise_ref(state, team),
        "is_enterprise_install": _org_install(state, team),
    }


def find_element(blocks: list[Any] | None, action_id: str) -> tuple[str, JsonDict] | None:
    """The interactive element with this action_id and the block_id holding it."""
    for block in blocks or []:
        candidates = list(block.get("elements", [])) if block.get("type") == "actions" else []
        for key in ("accessory", "element"):
            if isinstance(block.get(key), dict):
                candidates.append(block[key])
        for element in candidates:
            if isinstance(element, dict) and element.get("action_id") == action_id:
                return str(block.get("block_id", "")), element
    return None


def element_or_button(blocks: list[Any] | None, action_id: str) -> tuple[str, JsonDict]:
    """The element to click; an unknown action_id still yields a plausible button."""
    found = find_element(blocks, action_id)
    if found is not None:
        return found
    label = {"type": "plain_text", "text": action_id}
    return "sandbox", {"type": "button", "action_id": action_id, "text": label}


def _option(element: JsonDict, value: str) -> JsonDict:
    options: list[JsonDict] = element.get("options", [])
    for option in options:
        if option.get("value") == value:
            return option
    return {"text": {"type": "plain_text", "text": value, "emoji": True}, "value": value}


def action_json(element: JsonDict, block_id: str, value: Any, ts: str) -> JsonDict:
    kind = str(element.get("type", "button"))
    action: JsonDict = {
        "type": kind,
        "action_id": element.get("action_id"),
        "block_id": block_id,
        "action_ts": ts,
    }
    if kind == "button":
        action.update(text=element.get("text"), value=value or element.get("value", ""))
        if "style" in element:
            action["style"] = element["style"]
    elif kind in ("static_select", "external_select", "overflow", "radio_buttons"):
        action["selected_option"] = _option(element, str(value))
    elif kind == "checkboxes":
        values = value if isinstance(value, list) else str(value).split(",")
        action["selected_options"] = [_option(element, str(v)) for v in values if v]
    elif kind == "users_select":
        action["selected_user"] = value
    elif kind in ("conversations_select", "channels_select"):
        action["selected_" + kind.split("_")[0].rstrip("s")] = value
    elif kind == "datepicker":
        action["selected_date"] = value
    elif kind == "timepicker":
        action["selected_time"] = value
    else:
        action["value"] = value
    return action


def block_action_payload(
    state: SandboxState,
    *,
    user: str,
    action: JsonDict,
    trigger_id: str,
    response_url: str | None,
    channel: str | None,
    message: JsonDict | None,
    view: JsonDict | None,
) -> JsonDict:
    payload = _base(state, "block_actions", user)
    payload.update(trigger_id=trigger_id, state={"values": {}}, actions=[action])
    if view is not None:
        payload["container"] = {"type": "view", "view_id": view["id"]}
        payload["view"] = view
    elif message is not None and channel is not None:
        payload["container"] = {
            "type": "message",
            "message_ts": message["ts"],
            "channel_id": channel,
            "is_ephemeral": False,
        }
        payload.update(channel=channel_ref(state, channel), message=message)
    if response_url is not None:
        payload["response_url"] = response_url
    return payload


def view_submission_payload(
    state: SandboxState, *, user: str, view: JsonDict, trigger_id: str
) -> JsonDict:
    payload = _base(state, "view_submission", user)
    payload.update(trigger_id=trigger_id, view=view, response_urls=[])
    return payload


def view_closed_payload(state: SandboxState, *, user: str, view: JsonDict) -> JsonDict:
    payload = _base(state, "view_closed", user)
    payload.update(view=view, is_cleared=False)
    return payload


def message_shortcut_payload(
    state: SandboxState,
    *,
    user: str,
    callback_id: str,
    channel: str,
    message: JsonDict,
    trigger_id: str,
    response_url: str,
) -> JsonDict:
    payload = _base(state, "message_action", user)
    payload.update(
        callback_id=callback_id,
        trigger_id=trigger_id,
        action_ts=action_ts(),
        channel=channel_ref(state, channel),
        message_ts=message["ts"],
        message=message,
        response_url=response_url,
    )
    return payload


def global_shortcut_payload(
    state: SandboxState, *, user: str, callback_id: str, trigger_id: str
) -> JsonDict:
    payload = _base(state, "shortcut", user)
    payload.update(callback_id=callback_id, trigger_id=trigger_id, action_ts=action_ts())
    return payload


def message_for_payload(state: SandboxState, channel: str, ts: str, fallback_text: str) -> JsonDict:
    msg = state.message(channel, ts)
    if msg is not None:
        return message_json(state, msg, include_metadata=False)
    return {"type": "message", "user": state.default_user, "ts": ts, "text": fallback_text}
