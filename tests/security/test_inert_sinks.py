"""Injection strings through every text sink: views, the egress guard, and whole flows.

Written as properties over what the app registers, so a new projector view, a new field in a
view's state or a new Web API method is in scope without editing this file.
"""

from __future__ import annotations

import ast
import dataclasses
import datetime as dt
import enum
import functools
import importlib
import inspect
import json
import random
import re
import types
import typing
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from bot.core.text import (
    BARE_BROADCAST,
    BROADCAST_TOKEN,
    Untrusted,
    by_person,
    from_agent,
    from_ci,
    markdown_file,
    mrkdwn,
    plain,
    topic,
)

INJECTIONS = [
    "<!channel>",
    "<!here|here>",
    "<!everyone>",
    "<!group>",
    "<!subteam^S123>",
    "<!subteam^S0TEAM|@oncall>",
    "<https://evil.example|bank>",
    "<http://evil.example>",
    "@everyone",
    "@channel",
    "@here",
    "abc\u202edcba",
    "\u2066isolated\u2069",
    "a\u200bb\u200cc\u200dd\u2060e\ufefff",
    "\u200e\u200f\u061c",
    "<@U0ADMIN>",
    "[x](http://evil.example)",
    "![img](http://evil.example/i.png)",
    "<script>alert(1)</script>",
    "<img src=http://evil.example/x>",
    "<!chan\u200bnel>",
    "<!<!here>here>",
]
# A link whose target is the attacker's (a label may mention anything once escaped).
_FORGED_LINK = re.compile(r"<[^<>|]*evil\.example[^<>]*>")
_MARKDOWN_LINK = re.compile(r"(?<!\\)\]\(")
_RAW_HTML = re.compile(r"<(script|img)\b", re.IGNORECASE)
# Written out here rather than taken from bot.core.text, so that a character dropped from the
# renderers' list is caught: bidi embeddings, overrides, isolates and marks, and zero-width
# characters.
_ANY_INVISIBLE = re.compile(
    "[\u202a-\u202e\u2066-\u2069\u200e\u200f\u061c\u200b-\u200d\u2060\ufeff]"
)


def problems(text: str) -> list[str]:
    """What makes a string that reaches Slack not inert."""
    found = []
    if BROADCAST_TOKEN.search(text):
        found.append("broadcast or group token")
    if BARE_BROADCAST.search(text):
        found.append("bare broadcast keyword")
    if _ANY_INVISIBLE.search(text):
        found.append("bidi or zero-width character")
    if _FORGED_LINK.search(text):
        found.append("forged link")
    if _RAW_HTML.search(text):
        found.append("raw HTML")
    return found


def strings(value: Any) -> Iterator[str]:
    """Every string inside a rendered message, block objects included."""
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for item in value.values():
            yield from strings(item)
    elif isinstance(value, list | tuple):
        for item in value:
            yield from strings(item)
    elif hasattr(value, "to_dict"):
        yield from strings(value.to_dict())
    elif dataclasses.is_dataclass(value) and not isinstance(value, type):
        for item in dataclasses.fields(value):
            yield from strings(getattr(value, item.name))


# The egress guard cannot tell a forged link from one the bot built, so links and markup are
# the renderers' job; the guard promises no broadcast and no invisible character, anywhere.
_GUARD_PROMISES = (
    "broadcast or group token",
    "bare broadcast keyword",
    "bidi or zero-width character",
)


def assert_inert(value: Any, where: str, promises: tuple[str, ...] | None = None) -> None:
    def broken(text: str) -> list[str]:
        found = problems(text)
        return [item for item in found if item in promises] if promises else found

    bad = {text: broken(text) for text in strings(value) if broken(text)}
    assert not bad, f"{where}: {bad}"


# ------------------------------------------------------------------ the renderers


@pytest.mark.parametrize("injection", INJECTIONS)
@pytest.mark.parametrize("make", [by_person, from_ci, from_agent])
@pytest.mark.parametrize("render", [mrkdwn, plain, topic, markdown_file])
def test_every_renderer_is_inert(
    injection: str, make: Callable[[str], Untrusted], render: Callable[..., str]
) -> None:
    for limit in (None, 5, 12, 40):
        out = (
            render(make(f"Daily {injection} standup"), limit)
            if limit
            else render(make(f"Daily {injection} standup"))
        )
        assert not problems(out), (out, problems(out))
        if limit:
            assert len(out) <= limit


def test_markdown_file_has_no_links_images_or_html() -> None:
    out = markdown_file(by_person("[x](http://evil.example) ![i](y) <img src=x> <b>hi</b>"))
    assert not _MARKDOWN_LINK.search(out) and "<" not in out
    assert "\\[x\\](http://evil.example)" in out


def test_only_a_persons_words_mention_people() -> None:
    text = "ask <@U0ADMIN> and <@U0BOB|bob>"
    assert "<@U0ADMIN>" in mrkdwn(by_person(text)) and "<@U0BOB>" in mrkdwn(by_person(text))
    for make in (from_ci, from_agent):
        for render in (mrkdwn, plain, topic):
            out = render(make(text))
            assert "<@" not in out and "@U0ADMIN" in out
    assert "<@" not in topic(by_person(text))


def test_untrusted_cannot_be_formatted_by_accident() -> None:
    with pytest.raises(TypeError):
        f"{by_person('x')}"  # noqa: B018
    with pytest.raises(TypeError):
        str(from_ci("x"))
    with pytest.raises(TypeError):
        mrkdwn("raw str")  # type: ignore[arg-type]


@pytest.mark.parametrize("limit", range(0, 30))
def test_limits_never_cut_an_entity(limit: int) -> None:
    text = by_person("a&b<c>d <@U0ALICE> & <x> [y] ``" * 3)
    for render in (mrkdwn, markdown_file):
        out = render(text, limit)
        assert len(out) <= limit
        assert not re.search(r"&(?!amp;|lt;|gt;)", out), out
        assert not re.search(r"<@[A-Z0-9]*$", out.rstrip("\u2026"))
        assert not out.rstrip("\u2026").endswith("\\") or out.rstrip("\u2026").endswith("\\\\")


# ------------------------------------------------------------------ every projector view
#
# Every view the app registers with the projector gets a state built from its type hints, every
# free-text field holding an injection between two markers. A state the view renders nothing
# for, or renders without any of that text, proves nothing, so the builder first looks for the
# choices (a bot-chosen value such as a state or a kind, an optional left out, a flag, one item
# of a list differing from the others) under which the view shows the most untrusted fields,
# and the test fails when no choice makes the view render untrusted text at all.

NOW = dt.datetime(2026, 3, 2, 9, 30, tzinfo=dt.UTC)
OPEN, CLOSE = "Zq1 ", " Zq2"  # markers: what the view shows between them is the injection
# What lies between an opening and the next closing marker, with no marker in between (a view
# that cuts a text short leaves an opening marker alone).
_SHOWN = re.compile(r"Zq1 ((?:(?!Zq[12]).)*?) Zq2", re.DOTALL)
_PROBE = re.compile(r"ZqF(\d+)x")  # the search's numbered texts, one per free-text field
# Fields that hold Slack ids, timestamps or names from the bot's own configuration: stored
# and validated at the edge, so they get well-formed values. Everything else a person, a CI
# provider or an agent controls gets the injection.
_USER_FIELD = re.compile(
    r"(^|_)(user|users|owner|owners|actor|requester|reporter|commander|answered_by|"
    r"assigned_by|resolved_by|snoozed_by|slack_user|waiting|missed|target|author_id|"
    r"user_id|owner_id|reporter_id|commander_id|canceled_by)$"
)
_CHANNEL_FIELD = re.compile(r"(^|_)(channel|channel_id|channels)$")
_TS_FIELD = re.compile(r"(^|_)ts$")
# Links a person types are checked to be plain http(s) addresses where they come in; views that
# take URLs from CI or agents check them again, with or without this value.
_URL_FIELD = re.compile(r"(^|_)(url|link)$")
WELL_FORMED_URL = "https://ci.example/o/r/runs/1"
# Values chosen by the bot itself (states, levels, severities from the configuration). Views
# branch on them; the search also tries every string the views and states compare them with.
_FIXED: dict[str, Any] = {
    "state": "working",
    "status": "investigating",
    "severity": "sev1",
    "level": "red",
    "lower_level": "yellow",
    "kind": "loan",
    "role": "commander",
    "conclusion": "failure",
    "provider": "github",
    "backend": "default",
    "period": "day",
    "roles": (("commander", "U0ALICE"), ("comms", None)),  # IncidentState.roles
    "levels": (("red", dt.timedelta(hours=2)), ("yellow", dt.timedelta(hours=1))),
    "tz": "Europe/Paris",
    "timezone": "Europe/Paris",
    "sha": "0123456789abcdef0123456789abcdef01234567",
    "last_green_sha": "fedcba9876543210fedcba9876543210fedcba98",
}


def _is_trusted_field(name: str) -> Any:
    if name in _FIXED:
        return _FIXED[name]
    if _USER_FIELD.search(name):
        return "U0ALICE"
    if _CHANNEL_FIELD.search(name):
        return "C0ENG"
    if _TS_FIELD.search(name):
        return "1772443800.000100"
    if _URL_FIELD.search(name):
        return WELL_FORMED_URL
    return None


Choices = dict[str, int]


class Factory:
    """Builds any view state from its type hints, every free-text field holding `injection`.

    Each place where the builder could take another value (an optional, a flag, a literal, an
    enum, a bot-chosen string) is a decision, named by its path both with item indexes
    (`tasks.1.state`: one item) and without (`tasks.*.state`: every item). `choices` picks an
    option per decision (0, the first option, by default); `decisions` records, after a build,
    how many options each decision had.
    """

    def __init__(
        self,
        injection: str | None,
        overrides: dict[Any, Callable[[Factory], Any]],
        choices: Choices | None = None,
        alternatives: tuple[str, ...] = (),
        hostile_settings: bool = False,
    ) -> None:
        self.injection = injection  # None: number each text, to count which fields are shown
        self.overrides = overrides
        self.choices = choices or {}
        self.alternatives = alternatives
        # Also offer the injection for values from the bot's configuration (severities, roles):
        # for views that show nothing else, the configured words they render are the text.
        self.hostile_settings = hostile_settings
        self.decisions: dict[str, int] = {}
        self.modules: set[str] = set()
        self.path: list[str] = []
        self.counter = 0

    def text(self) -> str:
        if self.injection is None:
            self.counter += 1
            return f"ZqF{self.counter}x"
        return f"{OPEN}{self.injection}{CLOSE}"

    def choose(self, options: int) -> int:
        if options < 2:
            return 0
        exact = ".".join(self.path)
        every = ".".join("*" if part.isdigit() else part for part in self.path)
        for key in dict.fromkeys((exact, every)):
            self.decisions[key] = options
        chosen = self.choices.get(exact, self.choices.get(every, 0))
        return chosen if chosen < options else 0

    def build(self, tp: Any, name: str = "") -> Any:  # noqa: PLR0911, PLR0912
        if tp in self.overrides:
            return self.overrides[tp](self)
        origin = typing.get_origin(tp)
        args = typing.get_args(tp)
        if origin in (typing.Union, types.UnionType):
            real = [arg for arg in args if arg is not type(None)]
            if len(real) < len(args) and self.choose(2) == 1:
                return None
            return self.build(real[0], name)
        if name in _FIXED:
            fixed = _FIXED[name]
            if isinstance(fixed, str):
                options = (fixed, *(item for item in self.alternatives if item != fixed))
                if self.hostile_settings:
                    options = (*options, "")
                return options[self.choose(len(options))] or self.text()
            return fixed
        if origin is typing.Literal:
            return args[self.choose(len(args))]
        if tp is str:
            return _is_trusted_field(name) or self.text()
        if tp is bool:
            return (True, False)[self.choose(2)]
        if tp is int:
            return 3
        if tp is float:
            return 2.5
        if tp is dt.datetime:
            return NOW
        if tp is dt.date:
            return NOW.date()
        if tp is dt.timedelta:
            return dt.timedelta(hours=5, minutes=3)
        if isinstance(tp, type) and issubclass(tp, enum.Enum):
            members = list(tp)
            return members[self.choose(len(members))]
        if origin in (list, tuple, typing.Sequence, set, frozenset):
            if origin is tuple and args and args[-1] is not Ellipsis:
                return tuple(self.item(index, arg, name) for index, arg in enumerate(args))
            items = [self.item(index, args[0], name) for index in range(2)] if args else []
            return tuple(items) if origin is tuple else items
        if origin is dict:
            return {self.text(): self.build(args[1], name)} if args else {}
        if dataclasses.is_dataclass(tp):
            return self.dataclass(tp)
        if tp is Any or tp is object:
            return self.text()
        raise TypeError(f"no factory for {tp!r} (field {name!r}); add an override")

    def item(self, index: int, tp: Any, name: str) -> Any:
        self.path.append(str(index))
        try:
            return self.build(tp, name)
        finally:
            self.path.pop()

    def dataclass(self, cls: type) -> Any:
        self.modules.add(cls.__module__)
        hints = typing.get_type_hints(cls)
        values = {}
        for item in dataclasses.fields(cls):
            if not item.init:
                continue
            self.path.append(item.name)
            try:
                override = self.overrides.get((cls, item.name))
                values[item.name] = (
                    override(self) if override else self.build(hints[item.name], item.name)
                )
            finally:
                self.path.pop()
        return cls(**values)


def _settings() -> Any:
    from bot.config import Settings

    return Settings(
        slack_bot_token="xoxb-inert",
        slack_signing_secret="inert-secret",
        database_url="sqlite+aiosqlite:///:memory:",
        incidents={"announce_channel": "C0INCIDENTS"},
        codered={"announce_channel": "C0ALL"},
    )


def _digest_snapshot(factory: Factory) -> dict[str, Any]:
    """A digest's stored snapshot (bot.digests.service.sections), every text from people, CI or
    agents."""
    text, when = factory.text, NOW.isoformat()

    def incident(number: int) -> dict[str, Any]:
        return {
            "id": number,
            "title": text(),
            "severity": text(),
            "status": text(),
            "channel": "C0INC",
            "declared_at": when,
        }

    def task(number: int) -> dict[str, Any]:
        return {
            "id": number,
            "repo": text(),
            "instruction": text(),
            "pr_url": "https://github.com/o/r/pull/1",
            "error": text(),
            "channel": "C0DEV",
            "thread_ts": "1772443800.000100",
        }

    return {
        "incidents": {
            "opened": [incident(1)],
            "resolved": [{**incident(2), "minutes": 42.0}],
            "ongoing": [incident(3)],
            "mttr_minutes": 42.0,
        },
        "ci": {
            "red_minutes": [{"repo": text(), "branch": text(), "minutes": 12}],
            "breakages": 2,
            "fixed": 1,
            "flakes": 1,
            "flaky": [{"repo": text(), "workflow": text(), "count": 1}],
            "red_now": [{"repo": text(), "branch": text(), "workflow": text(), "since": when}],
        },
        "agents": {"prs": [task(1)], "failures": [task(2)], "active": 1},
        "standups": {
            "standups": [{"name": text(), "asked": 4, "answered": 3}],
            "blockers": [{"standup": text(), "user": "U0BOB", "text": text(), "since": when}],
            "codered": {"level": text(), "title": text(), "since": when},
        },
        "activity": {
            "messages": 3,
            "people": 2,
            "reactions": 1,
            "threads": [{"ts": "1.1", "user": "U0BOB", "text": text(), "replies": 2}],
            "unanswered": [{"ts": "2.2", "user": "U0BOB", "text": text(), "posted_at": when}],
            "unanswered_total": 1,
            "unanswered_hours": 4.0,
        },
    }


@functools.cache
def _overrides() -> dict[Any, Callable[[Factory], Any]]:
    """What a factory cannot derive from hints alone: configuration and stored snapshots, by
    type or by (dataclass, field)."""
    from bot.digests.views import DigestState
    from bot.home.service.sources import IncidentLine
    from bot.incidents.service.state import LatePrsState, Options

    options = Options.from_settings(_settings())
    return {
        Options: lambda _factory: options,
        (DigestState, "snapshot"): _digest_snapshot,
        # The role names a person holds in an incident (configured), not (role, user) pairs.
        (IncidentLine, "roles"): lambda _factory: ("commander", "comms"),
        # Pull requests the draft does not link: a link's address is one a forge gave.
        (LatePrsState, "prs"): lambda factory: (
            (factory.text(), 2, "https://github.com/octo-org/octo-repo/pull/7"),
        ),
    }


def _compared_strings(modules: set[str]) -> tuple[str, ...]:
    """Strings the modules compare values with or look them up by: the values views branch on."""
    found: dict[str, None] = {}
    for name in sorted(modules):
        module = importlib.import_module(name)

        def values(node: ast.AST, module: Any = module) -> Iterator[Any]:
            if isinstance(node, ast.Constant):
                yield node.value
            elif isinstance(node, ast.Tuple | ast.List | ast.Set):
                for element in node.elts:
                    yield from values(element)
            elif isinstance(node, ast.Name | ast.Attribute):
                chain: list[str] = []
                while isinstance(node, ast.Attribute):
                    chain.insert(0, node.attr)
                    node = node.value
                if isinstance(node, ast.Name) and node.id in vars(module):
                    value = vars(module)[node.id]
                    for attr in chain:
                        value = getattr(value, attr, None)
                    yield from (value if isinstance(value, tuple | set | frozenset) else [value])

        for node in ast.walk(ast.parse(inspect.getsource(module))):
            if isinstance(node, ast.Compare):
                operands = [node.left, *node.comparators]
            elif isinstance(node, ast.Dict):
                operands = [key for key in node.keys if key is not None]
            elif isinstance(node, ast.MatchValue):
                operands = [node.value]
            else:
                continue
            for operand in operands:
                for value in values(operand):
                    if isinstance(value, str) and value and len(value) < 40:
                        found[value] = None
    return tuple(found)


@dataclasses.dataclass(frozen=True)
class RegisteredView:
    kind: str
    view: Callable[[Any], Any]
    state_type: Any


def _registered_views() -> list[RegisteredView]:
    from bot.app import build_runtime

    rt = build_runtime(_settings())
    found = []
    for kind, registration in sorted(rt.projector.views.items()):
        hints = typing.get_type_hints(registration.view)
        (state_type,) = [hint for key, hint in hints.items() if key != "return"]
        found.append(RegisteredView(kind, registration.view, state_type))
    return found


REGISTERED = _registered_views()


@dataclasses.dataclass(frozen=True)
class Plan:
    """How to build a view's state: the choices, and what the factory may choose from."""

    choices: Choices
    alternatives: tuple[str, ...]
    hostile_settings: bool = False

    def factory(self, injection: str | None) -> Factory:
        return Factory(
            injection, _overrides(), self.choices, self.alternatives, self.hostile_settings
        )

    def but(self, choices: Choices) -> Plan:
        return dataclasses.replace(self, choices=choices)


def _shown_fields(registered: RegisteredView, plan: Plan) -> int:
    """How many numbered free-text fields the view shows; -1 when it renders nothing."""
    try:
        rendered = registered.view(plan.factory(None).build(registered.state_type))
    except Exception:  # noqa: BLE001 - a combination the real loaders never produce
        return -1
    if rendered is None:
        return -1
    return len({match for text in strings(rendered) for match in _PROBE.findall(text)})


def _decisions(registered: RegisteredView, plan: Plan) -> dict[str, int]:
    factory = plan.factory(None)
    factory.build(registered.state_type)
    return factory.decisions


def _climb(registered: RegisteredView, plan: Plan) -> tuple[Plan, int]:
    """From `plan`, take the single change that shows most, until none helps."""
    best = _shown_fields(registered, plan)
    for _ in range(6):
        step, gain = None, best
        for key, options in sorted(_decisions(registered, plan).items()):
            for option in range(options):
                if option == plan.choices.get(key, 0):
                    continue
                tried = plan.but({**plan.choices, key: option})
                shown = _shown_fields(registered, tried)
                if shown > gain:
                    step, gain = tried, shown
        if step is None:
            break
        plan, best = step, gain
    return plan, best


_SAMPLES = 300


def _sample(registered: RegisteredView, plan: Plan) -> tuple[Plan, int]:
    """The best of some random choices (seeded, so every run builds the same states), for
    views that need several changes at once before they render anything (a flag and a state)."""
    rng = random.Random(registered.kind)
    decisions = [(k, n) for k, n in _decisions(registered, plan).items() if "*" not in k]
    best_plan, best = plan, _shown_fields(registered, plan)
    for _ in range(_SAMPLES):
        tried = plan.but({key: rng.randrange(n) for key, n in decisions})
        shown = _shown_fields(registered, tried)
        if shown > best:
            best_plan, best = tried, shown
    return _climb(registered, best_plan)


@functools.cache
def _telling_plan(kind: str) -> tuple[Plan, int]:
    """The plan under which the view shows the most untrusted fields, and how many it shows."""
    (registered,) = [item for item in REGISTERED if item.kind == kind]
    probe = Factory(None, _overrides())
    probe.build(registered.state_type)
    plan = Plan({}, _compared_strings({registered.view.__module__, *probe.modules}))
    found, best = _climb(registered, plan)
    if best <= 0:
        found, best = _sample(registered, plan)
    if best <= 0:
        plan = dataclasses.replace(plan, hostile_settings=True)
        found, best = _climb(registered, plan)
    return found, best


_SLACK_MARKUP = re.compile(r"<([^<>|]*)(?:\|([^<>]*))?>")


def _as_read(text: str) -> str:
    """Slack markup as a reader sees it: a link's label, `@name`, nothing for `<!...>`."""

    def shown(match: re.Match[str]) -> str:
        target, label = match.group(1), match.group(2)
        if label is not None:
            return f"{target[0]}{label}" if target[:1] in ("@", "#") else label
        return "" if target.startswith("!") else target

    return " ".join(_SLACK_MARKUP.sub(shown, text).split())


def _inert_forms(injection: str) -> set[str]:
    """What the core renderers make of the injection between the markers, for every source,
    from the text as written or (digests of channel messages) as a reader sees it."""
    forms = set()
    for written in (f"{OPEN}{injection}{CLOSE}", f"{OPEN}{_as_read(injection)}{CLOSE}"):
        for make in (by_person, from_ci, from_agent):
            for render in (mrkdwn, plain, topic, markdown_file):
                forms.update(_SHOWN.findall(render(make(written))))
    return forms


@pytest.mark.parametrize("registered", REGISTERED, ids=[item.kind for item in REGISTERED])
def test_every_projector_view_renders_injections_inert(registered: RegisteredView) -> None:
    plan, shown = _telling_plan(registered.kind)
    assert shown > 0, (
        f"{registered.kind}: no state built from {registered.state_type!r} makes the view "
        "render untrusted text, so nothing here proves it inert; give the factory what it "
        "needs (an override in _overrides, a value in _FIXED)"
    )
    for injection in INJECTIONS:
        where = f"{registered.kind} with {injection!r}"
        rendered = registered.view(plan.factory(injection).build(registered.state_type))
        assert rendered is not None, f"{where}: rendered nothing"
        texts = list(strings(rendered))
        assert_inert(texts, where)
        seen = [found for text in texts for found in _SHOWN.findall(text)]
        assert seen, f"{where}: the untrusted text is not in the output: {texts}"
        forms = _inert_forms(injection)
        wrong = sorted(set(seen) - forms)
        assert not wrong, f"{where}: shown as {wrong}, not as the core renderers make it {forms}"
        if injection not in forms:
            raw = [text for text in texts if injection in text]
            assert not raw, f"{where}: the injection is shown raw in {raw}"


# ------------------------------------------------------------------ the egress guard

HOSTILE = " ".join(INJECTIONS)
# What the bot itself writes must survive the guard untouched.
OWN_MARKUP = "<@U0ALICE> see <https://ci.example/run/1|run 1> at <!date^1772443800^{time}|09:30>"


@pytest.fixture
async def sandbox() -> Any:
    from bot.sandbox import Sandbox

    async with Sandbox() as running:
        yield running


def _guarded(sandbox: Any) -> Any:
    from bot.core.slack import make_client

    return make_client("xoxb-test", sandbox.url, handlers=[])


def _hostile_blocks() -> list[dict[str, Any]]:
    return [
        {"type": "header", "text": {"type": "plain_text", "text": f"Daily {INJECTIONS[0]}"}},
        {"type": "section", "text": {"type": "mrkdwn", "text": f"{OWN_MARKUP} {HOSTILE}"}},
        {"type": "context", "elements": [{"type": "mrkdwn", "text": HOSTILE}]},
    ]


def _modal(kind: str) -> dict[str, Any]:
    view: dict[str, Any] = {"type": kind, "blocks": _hostile_blocks()}
    if kind == "modal":
        view["title"] = {"type": "plain_text", "text": "Hi \u202e@here"}
    return view


async def test_egress_guard_strips_every_text_argument(sandbox: Any) -> None:
    client = _guarded(sandbox)
    state = sandbox.state
    posted = await client.chat_postMessage(
        channel="C0GENERAL",
        text=f"Daily <!channel> {HOSTILE}",
        blocks=_hostile_blocks(),
        attachments=[{"fallback": HOSTILE, "text": HOSTILE}],
        link_names=True,
        parse="full",
    )
    await client.chat_update(
        channel="C0GENERAL", ts=posted["ts"], text=HOSTILE, blocks=_hostile_blocks()
    )
    await client.conversations_setTopic(channel="C0GENERAL", topic=f"Code red: {HOSTILE}")
    await client.conversations_setPurpose(channel="C0GENERAL", purpose=HOSTILE)
    await client.views_open(trigger_id=state.new_trigger("U0ALICE"), view=_modal("modal"))
    await client.views_publish(user_id="U0ALICE", view=_modal("home"))
    upload = await client.files_upload_v2(
        channel="C0GENERAL",
        content=f"# Postmortem\n{HOSTILE}",
        filename="postmortem.md",
        title=f"Postmortem {HOSTILE}",
        initial_comment=f"Postmortem {HOSTILE}",
    )
    for call in state.calls:
        assert_inert(call.args, call.method, _GUARD_PROMISES)
        assert "link_names" not in call.args and call.args.get("parse") != "full"
    content = state.files[upload["file"]["id"]].content
    assert_inert(content.decode(), "uploaded file", _GUARD_PROMISES)
    message = state.message("C0GENERAL", posted["ts"])
    assert message is not None
    assert_inert([message.text, message.blocks], "stored message", _GUARD_PROMISES)
    assert OWN_MARKUP in json.dumps(message.blocks, ensure_ascii=False)


async def test_egress_guard_leaves_the_bots_own_markup_alone(sandbox: Any) -> None:
    client = _guarded(sandbox)
    posted = await client.chat_postMessage(channel="C0GENERAL", text=OWN_MARKUP)
    message = sandbox.state.message("C0GENERAL", posted["ts"])
    assert message is not None and message.text == OWN_MARKUP


def test_egress_guard_cleans_serialised_json_arguments() -> None:
    from bot.core.slack import sanitise_arguments

    blocks = json.dumps([{"type": "section", "text": {"type": "mrkdwn", "text": HOSTILE}}])
    cleaned = sanitise_arguments({"blocks": blocks, "channel": "C1", "link_names": 1})
    assert cleaned is not None and "link_names" not in cleaned
    assert_inert(json.loads(cleaned["blocks"]), "blocks as a JSON string", _GUARD_PROMISES)


@pytest.mark.parametrize("name", ["text", "topic", "purpose", "title", "initial_comment"])
def test_egress_guard_reads_a_text_argument_as_text_even_when_it_looks_like_json(
    name: str,
) -> None:
    from bot.core.slack import sanitise_arguments

    secret = '{"password": "hunter2hunter2xx"}'
    cleaned = sanitise_arguments({name: secret})
    assert cleaned is not None and "hunter2hunter2xx" not in cleaned[name]
    assert cleaned[name].startswith('{"password": "[REDACTED:')
    cleaned = sanitise_arguments({name: '["caf\u00e9 <!here>"]'})
    assert cleaned == {name: '["caf\u00e9 "]'}  # not re-serialised: no "\\u00e9" escape


def test_egress_guard_walks_block_kit_objects_anywhere_in_a_value() -> None:
    from slack_sdk.models.blocks import SectionBlock

    from bot.core.slack import sanitise_arguments

    token = "ghp_" + "K4r" * 12
    view = {"type": "modal", "blocks": [SectionBlock(text=f"{HOSTILE} {token}")]}
    cleaned = sanitise_arguments({"view": view, "blocks": [SectionBlock(text=HOSTILE)]})
    assert cleaned is not None
    assert_inert(cleaned, "Block Kit objects", _GUARD_PROMISES)
    assert isinstance(cleaned["view"]["blocks"][0], dict)
    assert token not in json.dumps(cleaned) and "[REDACTED:github_token]" in json.dumps(cleaned)


def test_egress_guard_leaves_clean_arguments_as_they_are() -> None:
    from bot.core.slack import sanitise_arguments

    blocks = [{"type": "section", "text": {"type": "mrkdwn", "text": OWN_MARKUP}}]
    serialised = json.dumps(blocks)
    args = {"channel": "C1", "text": OWN_MARKUP, "blocks": blocks, "attachments": serialised}
    cleaned = sanitise_arguments(args)
    assert cleaned == args
    assert cleaned is not None and cleaned["blocks"] is blocks
    assert cleaned["attachments"] is serialised


# ------------------------------------------------------------------ whole flows


async def test_a_standup_named_daily_channel_pings_nobody(db_url: str) -> None:
    from bot.sandbox.seed import ALICE, STANDUP
    from tests.standups.helpers import at, channel_messages, clock_at, quiet_bot, tick_at
    from tests.standups.test_commands_e2e import form_values

    name = "Daily <!channel> @here \u202egnp.exe <https://evil.example|bank>"
    async with quiet_bot(db_url) as bot, clock_at(at("2026-03-09 12:00")) as clock:
        values = form_values(name={"type": "plain_text_input", "value": name})
        response = await bot.slack.view_submission(ALICE, "standups.create", values)
        assert response.status_code == 200
        await bot.settle()
        await tick_at(bot, clock, at("2026-03-10 09:30"))
        [digest] = channel_messages(bot, STANDUP)
        assert "Daily" in digest.text
        assert_inert([digest.text, digest.blocks], "standup digest")
        for call in bot.state.calls:
            assert_inert(call.args, call.method, _GUARD_PROMISES)


# ------------------------------------------------------------------ the PR link


@pytest.mark.parametrize(
    ("api_url", "url", "shown"),
    [
        (None, "https://github.com/o/r/pull/7", True),
        (None, "https://evil.example/o/r/pull/7", False),
        ("https://api.github.com", "https://github.com.evil.example/o/r/pull/7", False),
        ("https://ghe.example/api/v3", "https://ghe.example/o/r/pull/7", True),
        ("https://ghe.example/api/v3", "https://github.com/o/r/pull/7", False),
    ],
)
def test_only_a_link_on_the_configured_forge_is_the_pr(
    api_url: str | None, url: str, shown: bool
) -> None:
    from bot.agents.backends.a2a_events import forge_host, outcome_from_artifacts

    forge = forge_host(api_url)
    outcome = outcome_from_artifacts([], f"Done, see {url}", forge)
    assert (outcome.pr_url == url) is shown


# ------------------------------------------------------------------ topics and files


@pytest.mark.parametrize("injection", INJECTIONS)
def test_incident_topic_and_postmortem_are_inert(injection: str) -> None:
    from bot.incidents.views import postmortem
    from bot.incidents.views import topic as incident_topic
    from tests.incidents.factories import incident

    hostile = f"Payments {injection} down"
    state = incident(title=hostile, summary=hostile, description=hostile)
    out = incident_topic(state)
    assert len(out) <= 250 and not problems(out) and "<@" not in out.replace("<@U0BOB>", "")
    names = {"U0BOB": f"Bob {injection}\n# Forged heading"}
    draft = postmortem.render(state, "UTC", names)
    assert not problems(draft), problems(draft)
    assert not _MARKDOWN_LINK.search(draft) and "<" not in draft
    assert "\n# Forged" not in draft


@pytest.mark.parametrize("size", [40, 120, 260, 600])
def test_incident_topic_fits_with_long_configured_names(size: int) -> None:
    import dataclasses

    from bot.core.text import TOPIC_LIMIT
    from bot.incidents.views import topic as incident_topic
    from tests.incidents.factories import OPTIONS, incident

    role = "incident-commander-" + "x" * size
    options = dataclasses.replace(OPTIONS, roles=(role, "scribe"), severities=("s" * size,))
    state = incident(
        severity="s" * size,
        status="investigating-" + "y" * size,
        options=options,
        roles=((role, "U0BOB"),),
        title="Checkout is down",
    )
    out = incident_topic(state)
    assert len(out) <= TOPIC_LIMIT
    assert out.startswith("#42 · ") and "<@U0BOB>" in out and "Checkout" in out


def test_code_red_focus_reaches_the_topic_inert() -> None:
    from bot.core.text import TOPIC_LIMIT

    source = inspect.getsource(__import__("bot.codered.workflows.jobs", fromlist=["x"]))
    assert "text_topic(by_person(codered.focus)" in source  # the one place a topic is set
    assert topic(by_person("War <!here> room \u202e" + "x" * 400)).startswith("War  room")
    assert len(topic(by_person("y" * 400))) == TOPIC_LIMIT


@pytest.mark.parametrize(
    "body",
    [
        "{not json <!channel> \u202e password=hunter2hunter2xx",  # text that starts with "{"
        '{"password": "hunter2hunter2xx", "note": "<!channel>"}',  # JSON without a reply key
        '{"text": "ok", "extra": "<!channel> password=hunter2hunter2xx"}',  # a key no reply has
    ],
)
def test_an_acknowledgement_that_is_not_a_reply_is_guarded_as_text(body: str) -> None:
    from slack_bolt.response import BoltResponse

    from bot.core.replies import guard_response

    guarded = guard_response(BoltResponse(status=200, body=body)).body
    assert "<!channel>" not in guarded and "\u202e" not in guarded
    assert "hunter2hunter2xx" not in guarded and "[REDACTED:" in guarded


def test_a_json_acknowledgement_is_guarded_key_by_key() -> None:
    from slack_bolt.response import BoltResponse

    from bot.core.replies import guard_response

    body = {"response_type": "ephemeral", "text": "caf\u00e9 <!here> \u202e", "blocks": []}
    guarded = guard_response(BoltResponse(status=200, body=body))
    assert json.loads(guarded.body) == {**body, "text": "caf\u00e9  "}


@pytest.mark.parametrize("key", ["options", "option_groups"])
async def test_an_options_answer_is_guarded(key: str) -> None:
    from bot.core.replies import GuardedAck

    option = {"text": {"type": "plain_text", "text": "Deploy <!here> \u202e"}, "value": "v1"}
    group = {"label": {"type": "plain_text", "text": "<!channel> team"}, "options": [option]}
    answer = await GuardedAck()(**{key: [option] if key == "options" else [group]})
    payload = json.loads(answer.body)
    assert key in payload
    assert_inert(payload, key, _GUARD_PROMISES)
    assert "Deploy" in answer.body


def test_the_per_request_client_and_respond_keep_their_connection_settings() -> None:
    import logging
    import ssl

    from slack_bolt.request.async_request import AsyncBoltRequest
    from slack_sdk.web.async_client import AsyncWebClient

    from bot.core.replies import GuardedRespond, guard_request
    from bot.core.slack import GuardedClient, retry_handlers

    request = AsyncBoltRequest(
        body="command=%2Fx&response_url=https%3A%2F%2Fhooks.slack.com%2Fcommands%2F1",
        headers={"content-type": "application/x-www-form-urlencoded"},
    )
    bolts = AsyncWebClient(
        token="xoxb-per-request",
        base_url="https://slack.example/api/",
        timeout=7,
        ssl=ssl.create_default_context(),
        proxy="http://proxy.example:3128",
        trust_env_in_session=True,
        headers={"X-Trace": "1"},
        user_agent_prefix="opsbot-test",
        team_id="T0TEAM",
        logger=logging.getLogger("per-request"),
        retry_handlers=retry_handlers(),
    )
    request.context["client"] = bolts
    guard_request(request)
    client = request.context["client"]
    assert isinstance(client, GuardedClient)
    for name in ("token", "base_url", "timeout", "ssl", "proxy", "session", "trust_env_in_session"):
        assert getattr(client, name) == getattr(bolts, name), name
    assert client.headers == bolts.headers and client.headers["User-Agent"].startswith(
        "opsbot-test"
    )
    assert client.default_params == {"team_id": "T0TEAM"} and client.logger is bolts.logger
    assert client.retry_handlers == bolts.retry_handlers
    assert client.retry_handlers is not bolts.retry_handlers  # Bolt's list is not shared
    respond = request.context["respond"]
    assert isinstance(respond, GuardedRespond)
    assert respond.proxy == bolts.proxy and respond.ssl is bolts.ssl


async def test_acknowledgements_and_respond_are_guarded_too(db_url: str) -> None:
    """A command's own reply and respond() leave through the same last line as the Web API."""
    from slack_bolt.response import BoltResponse

    from bot.core.replies import GuardedRespond, guard_response
    from bot.sandbox.harness import running_bot

    token = "ghp_" + "Q7x" * 12
    reply = BoltResponse(
        status=200,
        body=json.dumps({"response_type": "ephemeral", "text": f"<!channel> \u202e {token}"}),
    )
    text = json.loads(guard_response(reply).body)["text"]  # type: ignore[union-attr]
    assert "<!channel>" not in text and "\u202e" not in text and token not in text

    async with running_bot(db_url) as bot:
        url = bot.slack.response_url("C0GENERAL", "U0ALICE")
        await GuardedRespond(response_url=url)(
            text=f"<!here> done {token}", response_type="ephemeral"
        )
        said = bot.state.ephemerals_for("U0ALICE")[-1].text
        assert "<!here>" not in said and token not in said


async def test_every_listener_reply_passes_the_guard(db_url: str) -> None:
    """Through the gate: a listener that answers, or responds, with raw text cannot ping."""
    from typing import Any as AnyType

    from bot.core.gate import no_record
    from bot.sandbox.harness import running_bot

    token = "ghp_" + "Z9y" * 12
    raw = f"<!channel> look \u202e {token}"
    async with running_bot(db_url, start_workers=False) as bot:

        @bot.rt.gate.command("/probe", no_record)
        async def probe(ack: AnyType, respond: AnyType) -> None:
            await respond(text=raw, response_type="ephemeral")
            await ack(text=raw)

        response = await bot.slack.command("/probe", "go", user="U0ALICE", channel="C0GENERAL")
        answered = response.text  # Bolt sends a text-only acknowledgement as plain text
        responded = bot.state.ephemerals_for("U0ALICE")[-1].text
    for text in (answered, responded):
        assert "<!channel>" not in text and "\u202e" not in text and token not in text
        assert "look" in text
