"""manifest.yml is valid, and agrees with the listeners and Web API calls in the code."""

from __future__ import annotations

import inspect
import json
import re
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml

from bot.app import build_runtime
from bot.config import Settings

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
}

# Scopes each Web API method needs with a bot token (Slack's method reference).
METHOD_SCOPES: dict[str, set[str]] = {
    "auth.test": set(),
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
def listeners(tmp_path_factory: pytest.TempPathFactory) -> dict[str, set[str]]:
    database = tmp_path_factory.mktemp("manifest") / "db.sqlite"
    settings = Settings(
        slack_bot_token="xoxb-manifest",
        slack_signing_secret="secret",
        database_url=f"sqlite+aiosqlite:///{database}",
    )
    rt = build_runtime(settings)
    # Events reach features through the core event registry, not through Bolt listeners.
    found: dict[str, set[str]] = {
        "command": set(),
        "event": set(rt.events.subscribers),
        "shortcut": set(),
    }
    event_listeners: list[str] = []
    for listener in rt.bolt._async_listeners:
        for matcher in listener.matchers:
            facts = _closure_facts(matcher.func)
            if "command" in facts:
                found["command"].add(facts["command"])
            elif "event_type" in facts:
                found["event"].add(facts["event_type"])
                event_listeners.append(facts["event_type"])
            elif "message_shortcut.<locals>.func" in facts["names"] or (
                "shortcut.<locals>.func" in facts["names"]
            ):
                found["shortcut"].add(facts.get("callback_id") or facts.get("constraints"))
    found["duplicate_events"] = {e for e in event_listeners if event_listeners.count(e) > 1}
    found["bolt_events"] = set(event_listeners)
    return found


def _closure_facts(func: Any, depth: int = 0) -> dict[str, Any]:
    """Bolt's built-in matchers keep their command, event type or callback id in a closure."""
    facts: dict[str, Any] = {"names": [func.__qualname__]}
    for name, value in inspect.getclosurevars(func).nonlocals.items():
        if callable(value) and hasattr(value, "__code__") and depth < 3:
            inner = _closure_facts(value, depth + 1)
            facts["names"] += inner.pop("names")
            facts.update(inner)
        elif isinstance(value, str):
            facts[name] = value
    return facts


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
    assert as_listened == listeners["event"]


def test_no_event_type_has_two_bolt_listeners(listeners: dict[str, set[str]]) -> None:
    """Bolt runs only the first match: a second listener would never hear its events.
    Features share an event type through `rt.events.on(...)`."""
    assert listeners["duplicate_events"] == set()
    # Stored events are dispatched by the core registry: an event listener on Bolt would never
    # see them.
    assert listeners["bolt_events"] == set()


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
