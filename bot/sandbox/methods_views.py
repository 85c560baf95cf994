"""views.* methods: modals and App Home."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .access import visible_user
from .args import Args
from .blocks import MAX_SURFACE_BLOCKS, validate_blocks
from .errors import SlackError
from .ids import random_hex
from .models import JsonDict, View
from .serialize import view_json

if TYPE_CHECKING:
    from .state import SandboxState

MAX_MODAL_STACK = 3
MAX_TITLE = 24
MAX_PRIVATE_METADATA = 3000


def _invalid(pointer: str, why: str) -> SlackError:
    return SlackError("invalid_arguments", [f"[ERROR] {why} [json-pointer:/view{pointer}]"])


def parse_view(args: Args, allowed: tuple[str, ...]) -> JsonDict:
    view = args.decoded("view", error="invalid_arguments")
    if not isinstance(view, dict):
        raise _invalid("", "must provide an object")
    if view.get("type") not in allowed:
        raise _invalid("/type", f"must be one of {', '.join(allowed)}")
    if view["type"] == "modal":
        _check_modal_texts(view)
    try:
        validate_blocks(view.get("blocks", []), MAX_SURFACE_BLOCKS)
    except SlackError as exc:
        raise SlackError("invalid_arguments", exc.messages) from None
    if len(str(view.get("private_metadata") or "")) > MAX_PRIVATE_METADATA:
        raise _invalid("/private_metadata", "must be less than 3001 characters")
    return view


def _check_modal_texts(view: JsonDict) -> None:
    for key, required in (("title", True), ("submit", False), ("close", False)):
        value: Any = view.get(key)
        if value is None and not required:
            continue
        if not isinstance(value, dict) or value.get("type") != "plain_text":
            raise _invalid(f"/{key}", "must provide a plain_text object")
        if len(str(value.get("text") or "")) > MAX_TITLE:
            raise _invalid(f"/{key}/text", f"must be less than {MAX_TITLE + 1} characters")


def new_view_hash(state: SandboxState) -> str:
    return f"{int(state.now())}.{random_hex(4)}"


def _trigger_user(state: SandboxState, args: Args) -> str | None:
    trigger_id = args.text("trigger_id").strip()
    if not trigger_id:
        raise SlackError("invalid_trigger_id")
    trigger = state.triggers.get(trigger_id)
    if not state.strict_triggers:
        return trigger.user if trigger else None
    if trigger is None:
        raise SlackError("invalid_trigger_id")
    if state.now() - trigger.issued_at > state.trigger_ttl:
        raise SlackError("expired_trigger_id")
    return trigger.user


def _store(state: SandboxState, payload: JsonDict, user: str | None, **links: Any) -> View:
    view = View(
        id=state.new_id("V"),
        type=payload["type"],
        payload=payload,
        hash=new_view_hash(state),
        user=user,
        external_id=payload.get("external_id") or None,
        created=state.now(),
        **links,
    )
    state.views[view.id] = view
    return view


def open_(state: SandboxState, args: Args) -> JsonDict:
    payload = parse_view(args, ("modal",))
    user = _trigger_user(state, args)
    return {"view": view_json(state, _store(state, payload, user))}


def push(state: SandboxState, args: Args) -> JsonDict:
    payload = parse_view(args, ("modal",))
    user = _trigger_user(state, args)
    stack = state.open_views(user)
    top = stack[-1] if stack else None
    root = (top.root_view_id or top.id) if top else None
    if root and sum(1 for v in stack if (v.root_view_id or v.id) == root) >= MAX_MODAL_STACK:
        raise SlackError("push_limit_reached")
    view = _store(state, payload, user, root_view_id=root, previous_view_id=top.id if top else None)
    return {"view": view_json(state, view)}


def _find_for_update(state: SandboxState, args: Args) -> View:
    view_id = args.text("view_id").strip()
    external_id = args.text("external_id").strip()
    if not view_id and not external_id:
        raise SlackError("invalid_arguments", ["[ERROR] view_id or external_id is required"])
    found = (
        state.views.get(view_id)
        if view_id
        else next((v for v in state.views.values() if v.external_id == external_id), None)
    )
    if found is None:
        raise SlackError("not_found")
    return found


def update(state: SandboxState, args: Args) -> JsonDict:
    view = _find_for_update(state, args)
    payload = parse_view(args, (view.type,))
    if args.has("hash") and args.text("hash") != view.hash:
        raise SlackError("hash_conflict")
    view.payload = payload
    view.hash = new_view_hash(state)
    view.external_id = payload.get("external_id") or view.external_id
    return {"view": view_json(state, view)}


def publish(state: SandboxState, args: Args) -> JsonDict:
    user_id = visible_user(state, args.required("user_id", "user_not_found")).id
    payload = parse_view(args, ("home",))
    current = state.home_views.get(user_id)
    if args.has("hash") and (current is None or args.text("hash") != current.hash):
        raise SlackError("hash_conflict")
    view = _store(state, payload, user_id)
    if current is not None:
        # The home tab keeps its id across publishes, as in Slack
        del state.views[view.id]
        view.id = current.id
        state.views[view.id] = view
    state.home_views[user_id] = view
    return {"view": view_json(state, view)}


METHODS = {
    "views.open": open_,
    "views.push": push,
    "views.update": update,
    "views.publish": publish,
}
