"""manifest.yml is valid, and agrees with the listeners and Web API calls in the code."""

from __future__ import annotations

import inspect
import json
import re
from collections import Counter
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml

from bot.app import Runtime, build_runtime
from bot.config import Settings
from bot.core.gate import ACTION, COMMAND, OPTIONS, SHORTCUT, VIEW
from bot.core.installations import REVOCATION_EVENTS

ROOT = Path(__file__).resolve().parents[2]
SCHEMA = ROOT.parent / "shared" / "fixtures" / "slack-manifest" / "manifest.schema.1.0.0.json"

# Scopes each subscribed bot event needs (Slack's Events API reference).
EVENT_SCOPES: dict[str, set[str]] = {
    "app_mention": {"app_mentions:read"},
    "app_home_opened": set(),
    "message.channels": {"channels:history"},
    "message.groups": {"groups:history"},
    "message.im": {"im:history"},
    "message.mpim": {"mpim:history"},
    "reaction_added": {"reactions:read"},
    "reaction_removed": {"reactions:read"},
    "pin_added": {"pins:read"},
    "pin_removed": {"pins:read"},
    "member_joined_channel": {"channels:read", "groups:read"},
    "channel_archive": {"channels:read"},
    "app_uninstalled": set(),
    "tokens_revoked": set(),
}

# Scopes each Web API method needs with a bot token (Slack's method reference).
METHOD_SCOPES: dict[str, set[str]] = {
    "auth.test": set(),
    "auth.teams.list": set(),  # an org-wide install's token, no scope
    "bots.info": {"users:read"},
    "chat.postMessage": {"chat:write"},
    "chat.postEphemeral": {"chat:write"},
    "chat.update": {"chat:write"},
    "chat.delete": {"chat:write"},
    "chat.getPermalink": set(),
    "chat.scheduleMessage": {"chat:write"},
    "conversations.create": {"channels:manage", "groups:write"},
    "conversations.invite": {"channels:manage", "groups:write"},
    "conversations.setTopic": {"channels:manage", "groups:write"},
    "conversations.setPurpose": {"channels:manage", "groups:write"},
    "conversations.archive": {"channels:manage", "groups:write"},
    "conversations.rename": {"channels:manage", "groups:write"},
    "conversations.join": {"channels:join"},
    "conversations.info": {"channels:read", "groups:read"},
    "conversations.list": {"channels:read", "groups:read"},
    "conversations.members": {"channels:read", "groups:read"},
    "conversations.history": {"channels:history", "groups:history"},
    "conversations.replies": {"channels:history", "groups:history"},
    "conversations.open": {"im:write"},
    "pins.add": {"pins:write"},
    "pins.remove": {"pins:write"},
    "pins.list": {"pins:read"},
    "reactions.add": {"reactions:write"},
    "reactions.remove": {"reactions:write"},
    "reactions.get": {"reactions:read"},
    "users.info": {"users:read"},
    "users.list": {"users:read"},
    "users.lookupByEmail": {"users:read.email"},
    "users.profile.get": {"users.profile:read"},
    "usergroups.list": {"usergroups:read"},
    "usergroups.users.list": {"usergroups:read"},
    "views.open": set(),
    "views.update": set(),
    "views.push": set(),
    "views.publish": set(),
    "files.getUploadURLExternal": {"files:write"},
    "files.completeUploadExternal": {"files:write"},
    "files.upload_v2": {"files:write"},
    "team.info": {"team:read"},
}
FAMILIES = "auth|bots|chat|conversations|pins|reactions|users|usergroups|views|files|team"


@pytest.fixture(scope="module")
def manifest() -> dict[str, Any]:
    return yaml.safe_load((ROOT / "manifest.yml").read_text())


@pytest.fixture(scope="module")
def runtime(tmp_path_factory: pytest.TempPathFactory) -> Runtime:
    database = tmp_path_factory.mktemp("manifest") / "db.sqlite"
    settings = Settings(
        slack_bot_token="xoxb-manifest",
        slack_signing_secret="secret",
        database_url=f"sqlite+aiosqlite:///{database}",
    )
    return build_runtime(settings)


@pytest.fixture(scope="module")
def bolt_routes(runtime: Runtime) -> list[tuple[str, str]]:
    """(kind, key) of every listener registered on Bolt, in registration order."""
    return [_bolt_route(listener) for listener in runtime.bolt._async_listeners]


@pytest.fixture(scope="module")
def listeners(runtime: Runtime, bolt_routes: list[tuple[str, str]]) -> dict[str, set[str]]:
    # Events reach features through the core event registry, not through Bolt listeners.
    found: dict[str, set[str]] = {
        COMMAND: set(),
        "event": set(runtime.events.subscribers),
        SHORTCUT: set(),
    }
    for kind, key in bolt_routes:
        if kind in found:
            found[kind].add(key)
    return found


# Bolt's built-in matchers, by the builder that made them, and the kind of entry each serves:
# the gate's command/action/view/shortcut/options use the first five. Any other builder (a
# view_closed or global_shortcut listener, say) keeps its own name and so matches no declaration.
BOLT_KINDS = {
    "command": COMMAND,
    "action": ACTION,
    "view_submission": VIEW,
    "shortcut": SHORTCUT,
    "options": OPTIONS,
    "event": "event",
    "message_event": "event",
    "function_executed": "event",
    "workflow_step_execute": "event",
}
KEY_NAMES = ("command", "callback_id", "action_id", "event_type", "constraints")


def _bolt_route(listener: Any) -> tuple[str, str]:
    """Bolt's built-in matchers keep their command, callback id or event type in a closure."""
    if len(listener.matchers) != 1:
        return "several matchers", repr(listener.ack_function)
    matcher = listener.matchers[0].func  # async wrapper around the builder's own `func`
    inner = inspect.getclosurevars(matcher).nonlocals.get("func")
    if inner is None or ".<locals>." not in inner.__qualname__:
        return "custom matcher", matcher.__qualname__
    builder = inner.__qualname__.split(".<locals>.")[0]
    found = inspect.getclosurevars(inner).nonlocals
    key = next((found[name] for name in KEY_NAMES if name in found), None)
    return BOLT_KINDS.get(builder, builder), _show(key)


def _show(key: object) -> str:
    return f"/{key.pattern}/" if isinstance(key, re.Pattern) else str(key)


def test_manifest_validates_against_slacks_schema(manifest: dict[str, Any]) -> None:
    schema = json.loads(SCHEMA.read_text())
    jsonschema.Draft7Validator(schema).validate(manifest)


def test_slash_commands_match_the_listeners_both_ways(
    manifest: dict[str, Any], listeners: dict[str, set[str]]
) -> None:
    declared = {command["command"] for command in manifest["features"]["slash_commands"]}
    assert declared == listeners["command"]


def test_every_command_points_at_the_events_endpoint(manifest: dict[str, Any]) -> None:
    for command in manifest["features"]["slash_commands"]:
        assert command["url"].endswith("/slack/events") and command["usage_hint"]


def test_shortcuts_match_the_listeners_both_ways(
    manifest: dict[str, Any], listeners: dict[str, set[str]]
) -> None:
    declared = {s["callback_id"] for s in manifest["features"].get("shortcuts", [])}
    assert declared == listeners["shortcut"]


def test_events_match_the_listeners_both_ways(
    manifest: dict[str, Any], listeners: dict[str, set[str]]
) -> None:
    subscribed = set(manifest["settings"]["event_subscriptions"]["bot_events"])
    as_listened = {event.split(".")[0] for event in subscribed}
    # Uninstalls and revoked tokens are heard by Bolt's own listeners in OAuth mode (they
    # delete the workspace's installation); with SLACK_BOT_TOKEN they are acknowledged only.
    assert as_listened == listeners["event"] | REVOCATION_EVENTS


def test_bolt_listeners_are_exactly_the_gate_declarations(
    runtime: Runtime, bolt_routes: list[tuple[str, str]]
) -> None:
    """Stored Slack events are replayed by the worker to the core EventBus (`rt.events.on`), so
    an event listener on Bolt would never hear them. Every interactive entry is declared through
    the gate, which registers one Bolt listener per declaration: a listener without a declaration
    was registered around the gate, and a declaration with two listeners is heard only once."""
    bolt_events = sorted(key for kind, key in bolt_routes if kind == "event")
    assert bolt_events == [], f"Bolt event listeners never run; use rt.events.on: {bolt_events}"

    declared = Counter((entry.type, _show(entry.key)) for entry in runtime.gate.entries)
    listened = Counter(bolt_routes)
    assert declared, "no gate declarations: the runtime registered no features?"
    assert [d for d, n in declared.items() if n > 1] == [], "declared twice"
    assert [r for r, n in listened.items() if n > 1] == [], "two Bolt listeners for one entry"
    assert sorted(listened - declared) == [], "Bolt listeners without a gate declaration"
    assert sorted(declared - listened) == [], "gate declarations without a Bolt listener"
    assert len(bolt_routes) == len(runtime.gate.entries)


def test_each_subscribed_event_has_its_scope(manifest: dict[str, Any]) -> None:
    scopes = set(manifest["oauth_config"]["scopes"]["bot"])
    for event in manifest["settings"]["event_subscriptions"]["bot_events"]:
        assert event in EVENT_SCOPES, f"add {event} and its scopes to EVENT_SCOPES"
        assert EVENT_SCOPES[event] <= scopes, f"{event} needs {EVENT_SCOPES[event] - scopes}"


def _methods_used() -> set[str]:
    # The sandbox implements Slack rather than calling it, so it does not count.
    source = "\n".join(
        path.read_text()
        for path in (ROOT / "bot").rglob("*.py")
        if "sandbox" not in path.relative_to(ROOT).parts
    )
    # slack_sdk spells usergroups.users.list as usergroups_users_list; upload_v2 is its own name.
    snake = {
        f"{family}.{name}" if name == "upload_v2" else f"{family}.{name.replace('_', '.')}"
        for family, name in re.findall(rf"\.({FAMILIES})_(\w+)\(", source)
    }
    dotted = set(re.findall(rf"[\"']((?:{FAMILIES})\.[A-Za-z.]+)[\"']", source))
    return snake | dotted


def test_every_web_api_method_the_code_calls_has_its_scopes(manifest: dict[str, Any]) -> None:
    scopes = set(manifest["oauth_config"]["scopes"]["bot"])
    used = {m for m in _methods_used() if not m.startswith("bot.")}
    unknown = sorted(m for m in used if m not in METHOD_SCOPES)
    assert unknown == [], f"add these methods and their scopes to METHOD_SCOPES: {unknown}"
    for method in sorted(used):
        assert METHOD_SCOPES[method] <= scopes, f"{method} needs {METHOD_SCOPES[method] - scopes}"


def test_interactivity_and_commands_scope(manifest: dict[str, Any]) -> None:
    settings = manifest["settings"]
    assert settings["interactivity"]["is_enabled"] is True
    assert settings["interactivity"]["request_url"].endswith("/slack/events")
    assert settings["event_subscriptions"]["request_url"].endswith("/slack/events")
    assert "commands" in manifest["oauth_config"]["scopes"]["bot"]
