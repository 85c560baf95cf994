"""What Slack shows people based on the app's immediate HTTP answer (the "ack")."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

import httpx

from .methods_views import new_view_hash
from .models import Ephemeral, JsonDict, View
from .tenancy import bot_for

if TYPE_CHECKING:
    from .state import SandboxState


def _json_body(response: httpx.Response) -> Any:
    if not response.content:
        return None
    try:
        return response.json()
    except (json.JSONDecodeError, UnicodeDecodeError):
        return response.text


def _notice(state: SandboxState, channel: str, user: str, text: str, source: str) -> None:
    state.ephemerals.append(Ephemeral(channel, user, text, state.next_ts(), source=source))


def apply_command_ack(
    state: SandboxState, response: httpx.Response, command: str, channel: str, user: str, late: bool
) -> None:
    """A slash command's HTTP answer is displayed like a response_url post."""
    if late:
        _notice(
            state, channel, user, f'{command} failed with the error "operation_timeout"', "slack"
        )
        return
    if response.status_code != 200:
        text = f'{command} failed with the error "http_service_error"'
        _notice(state, channel, user, text, "slack")
        return
    body = _json_body(response)
    if isinstance(body, str) and body.strip():
        _notice(state, channel, user, body, "command_ack")
    elif isinstance(body, dict) and (body.get("text") or body.get("blocks")):
        _apply_message_ack(state, body, channel, user)


def _apply_message_ack(state: SandboxState, body: JsonDict, channel: str, user: str) -> None:
    blocks = body.get("blocks") if isinstance(body.get("blocks"), list) else None
    text = str(body.get("text") or "")
    if body.get("response_type") == "in_channel":
        state.post(channel, bot_for(state, channel), text, blocks=blocks)
        return
    state.ephemerals.append(
        Ephemeral(channel, user, text, state.next_ts(), blocks=blocks, source="command_ack")
    )


def apply_view_response(
    state: SandboxState, view_id: str, user: str, response: httpx.Response
) -> None:
    """Slack closes, updates, pushes or annotates the modal depending on the ack body."""
    view = state.views.get(view_id)
    if view is None or response.status_code != 200:
        return
    body = _json_body(response)
    action = body.get("response_action") if isinstance(body, dict) else None
    if action is None:
        view.closed = True
    elif action == "clear":
        for open_view in state.open_views(view.user):
            open_view.closed = True
    elif action == "errors":
        view.errors = dict(body.get("errors") or {})
    elif action == "update" and isinstance(body.get("view"), dict):
        view.payload = body["view"]
        view.hash = new_view_hash(state)
        view.errors = None
    elif action == "push" and isinstance(body.get("view"), dict):
        _push(state, view, body["view"], user)


def _push(state: SandboxState, under: View, payload: JsonDict, user: str) -> None:
    pushed = View(
        id=state.new_id("V"),
        type="modal",
        payload=payload,
        hash=new_view_hash(state),
        user=user,
        root_view_id=under.root_view_id or under.id,
        previous_view_id=under.id,
        created=state.now(),
    )
    state.views[pushed.id] = pushed
