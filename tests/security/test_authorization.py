"""Every command, button, menu, form and shortcut the bot declares, tried by a non-member.

The probes are forged the way a hostile member of the workspace could send them (validly
signed, naming records they may not touch). For each declared entry the test checks that the
request is refused with the reason the gate itself gives, that not one row of any table changed,
and, as a control, that the same payload from someone entitled (not an admin) passes the gate.
A new entry without a probe fails `test_every_declared_entry_has_a_probe`, so new handlers are
covered by construction.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import re
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, replace
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from bot.agents import service as agents
from bot.agents.service.parsing import Spec
from bot.codered import service as codered
from bot.codered.models import CodeRedNotice
from bot.codered.service.options import Options as CodeRedOptions
from bot.core.access import SEE, NotFound, Refused
from bot.core.db import transaction
from bot.core.directory import Directory
from bot.core.gate import COMMAND, UNREADABLE, Entry, Incoming, incoming_of, request_key
from bot.incidents import service as incidents
from bot.incidents.service.state import Options as IncidentOptions
from bot.models import metadata
from bot.sandbox.harness import BotUnderTest, running_bot
from bot.sandbox.seed import ALICE, BOB, CAROL, DAVE, ERIN
from bot.standups import service as standups
from bot.standups.models import StandupDelivery, StandupRun

SECRET = "C0SECRET"  # a private channel: Alice, Bob and the bot
MALLORY = DAVE  # in the workspace, not in the channel, no role anywhere
ENTITLED = BOB  # not an admin: reported the incident, asked for the task, owns the rest
DECLARER = ERIN  # not an admin, named a code red declarer
CONFIG: dict[str, Any] = {
    "admins": [ALICE],
    "codered": {"announce_channel": "C0GENERAL", "declarers": [DECLARER]},
    "ci": {
        "routes": [
            {
                "repo": "octo-org/octo-repo",
                "branches": ["main"],
                "channel": SECRET,
                "owners": [ENTITLED],
            }
        ]
    },
    "agents": {
        "backends": [{"name": "sandbox", "kind": "a2a", "url": "http://127.0.0.1:9/"}],
        "repos": {SECRET: "octo-org/octo-repo"},
    },
}


@dataclass
class Records:
    incident: int
    request: int
    task: int
    standup: str
    run: int
    notice: int
    breakage: int
    followup: int


async def _records(bot: BotUnderTest) -> Records:
    settings = bot.rt.settings
    async with transaction(bot.rt.sessions) as session:
        incident = await incidents.declare(
            session,
            IncidentOptions.from_settings(settings),
            title="Payroll export leaks",
            reporter=ENTITLED,
            private=True,
        )
        spec = Spec("rotate the payroll keys", "octo-org/octo-repo", "sandbox", 1, None)
        request = await agents.create_request(
            session, spec, channel=SECRET, thread_ts="1.1", message_ts="1.1",
            requester=ENTITLED, source="mention",
        )  # fmt: skip
        [task] = await agents.request_tasks(session, request.id)
        standup = await standups.create(
            session,
            standups.StandupSpec(
                name="Secret daily",
                channel=SECRET,
                questions=["Done?"],
                days=(0, 1, 2, 3, 4),
                minute_of_day=540,
                fixed_tz=None,
                reminder_minutes=60,
                cutoff_minutes=180,
                users=[ALICE, BOB],
            ),  # fmt: skip
            ENTITLED,
        )
        day = dt.date(2026, 3, 2)
        run = StandupRun(standup_id=standup.id, run_date=day)
        session.add(run)
        await session.flush()
        prompt_at = dt.datetime(2026, 3, 2, 9, tzinfo=dt.UTC)
        for person in (ALICE, BOB):  # the day's prompt went to both participants
            session.add(
                StandupDelivery(
                    standup_id=standup.id, run_id=run.id, user_id=person, run_date=day,
                    kind="prompt", prompt_at=prompt_at,
                    cutoff_at=prompt_at + dt.timedelta(hours=3),
                )
            )  # fmt: skip
        form = codered.DeclareForm(
            level="red", focus="Payroll", owner=ENTITLED, exit_criteria="fixed"
        )
        red = await codered.declare(session, CodeRedOptions.from_settings(settings), form, ALICE)
        notice = CodeRedNotice(
            codered_id=red.id, key="probe", kind="reconfirm", target=BOB, data={"level": "red"}
        )
        session.add(notice)
        await session.flush()
        breakage = await _red_breakage(session, settings)
        followup = await incidents.add_followup(session, incident, "Rotate the keys", None, BOB)
        return Records(
            incident.id, request.id, task.id, standup.name, run.id, notice.id, breakage, followup
        )


async def _red_breakage(session: Any, settings: Any) -> int:
    """A red CI breakage posted in the private channel (its route's owner: ENTITLED)."""
    from bot.ci import service as ci
    from bot.ci.service.events import Commit, RunEvent

    moment = dt.datetime(2026, 3, 2, 9, tzinfo=dt.UTC)
    red = RunEvent(
        provider="github", repo="octo-org/octo-repo", branch="main", workflow="test",
        external_id="9001", attempt=1, sha="b" * 40, conclusion="failure", outcome="red",
        created_at=moment, completed_at=moment, commits=(Commit(sha="b" * 40),),
    )  # fmt: skip
    done = await ci.record_run(session, red, ci.routes(settings)[0])
    assert done.breakage_id is not None
    return done.breakage_id


# ------------------------------------------------------------------ the probes

Payload = dict[str, Any]
Build = Callable[[BotUnderTest, Records, str], Payload]  # (bot, records, sender) -> payload


def _command(command: str, text: str, channel: str = SECRET) -> Build:
    def build(bot: BotUnderTest, records: Records, user: str) -> Payload:
        return {
            "command": command,
            "text": text.format(r=records),
            "user_id": user,
            "channel_id": channel,
            "team_id": bot.state.team_id,
            "response_url": bot.slack.response_url(channel, user),
            "trigger_id": bot.state.new_trigger(user),
        }

    return build


def _button(action_id: str, value: str, option: bool = False) -> Build:
    def build(bot: BotUnderTest, records: Records, user: str) -> Payload:
        payload = bot.slack.build_block_action(user, action_id, channel="C0GENERAL")
        action = payload["actions"][0]
        action["action_id"] = action_id
        if option:
            action["selected_option"] = {"value": value.format(r=records)}
        else:
            action["value"] = value.format(r=records)
        return payload

    return build


def _repo_pick() -> Build:
    """A pick in the bot's repository question, in a channel the prober is not in."""

    def build(bot: BotUnderTest, records: Records, user: str) -> Payload:
        select = {
            "type": "static_select",
            "action_id": "agents.pick_repo",
            "options": [{"text": {"type": "plain_text", "text": "r"}, "value": "octo-org/x"}],
        }
        blocks = [{"type": "actions", "block_id": "agents.repo.1.000001", "elements": [select]}]
        asked = bot.state.post(SECRET, bot.state.bot_user_id, "Which repository?", blocks=blocks)
        return bot.slack.build_block_action(
            user, "agents.pick_repo", "octo-org/x", channel=SECRET, message_ts=asked.ts
        )

    return build


def _form(callback_id: str, values: Payload, metadata: Payload | None = None) -> Build:
    def build(bot: BotUnderTest, records: Records, user: str) -> Payload:
        private = json.dumps({k: v.format(r=records) for k, v in (metadata or {}).items()})
        return bot.slack.build_view_submission(user, callback_id, values, private)

    return build


def _shortcut(callback_id: str) -> Build:
    def build(bot: BotUnderTest, records: Records, user: str) -> Payload:
        posted = bot.state.post(SECRET, ALICE, "the payroll export is broken")
        payload = bot.slack.build_message_shortcut(user, callback_id, SECRET, posted.ts)
        payload["channel"] = {"id": SECRET, "name": "secret"}
        return payload

    return build


def _input(block: str, element: Payload) -> Payload:
    return {block: {"v": element}}


STANDUP_FORM = {
    **_input("name", {"type": "plain_text_input", "value": "Spy daily"}),
    **_input("channel", {"type": "conversations_select", "selected_conversation": SECRET}),
    **_input("users", {"type": "multi_users_select", "selected_users": [MALLORY]}),
    **_input("questions", {"type": "plain_text_input", "value": "Done?"}),
    **_input("days", {"type": "checkboxes", "selected_options": [{"value": "0"}]}),
    **_input("time", {"type": "plain_text_input", "value": "09:30"}),
    **_input("tz_mode", {"type": "radio_buttons", "selected_option": {"value": "user"}}),
    **_input("reminder", {"type": "plain_text_input", "value": "60"}),
    **_input("cutoff", {"type": "plain_text_input", "value": "180"}),
}
CODERED_FORM = {
    **_input("level", {"type": "static_select", "selected_option": {"value": "red"}}),
    **_input("focus", {"type": "plain_text_input", "value": "Mine"}),
    **_input("owner", {"type": "users_select", "selected_user": MALLORY}),
    **_input("exit", {"type": "plain_text_input", "value": "never"}),
}
AGENT_FORM = {
    **_input("instruction", {"type": "plain_text_input", "value": "print the env"}),
    **_input("repo", {"type": "plain_text_input", "value": "octo-org/octo-repo"}),
}
ANSWER_FORM = _input("q0", {"type": "plain_text_input", "value": "spying"})
FIX_FORM = {
    **_input("attempts", {"type": "static_select", "selected_option": {"value": "4"}}),
    **_input("backend", {"type": "static_select", "selected_option": {"value": "sandbox"}}),
}
FOLLOWUP_FORM = {
    **_input("repo", {"type": "static_select", "selected_option": {"value": "octo-org/octo-repo"}}),
    **_input("attempts", {"type": "static_select", "selected_option": {"value": "1"}}),
}

# (type, declared key) -> the forged payload. Entries open to everyone are listed in OPEN.
PROBES: dict[tuple[str, str], Build] = {
    ("command", "/incident"): _command("/incident", "update #{r.incident} all clear"),
    ("command", "/codered"): _command("/codered", "level yellow calming down"),
    ("command", "/standup"): _command("/standup", "pause {r.standup}"),
    ("command", "/agent"): _command("/agent", "run octo-org/octo-repo print the env"),
    ("command", "/ops"): _command("/ops", "digest now"),
    ("command", "/ci"): _command("/ci", "mute octo-org/octo-repo main 2h", "C0GENERAL"),
    ("action", r"^incidents\.take_role\."): _button(
        "incidents.take_role.commander", "{r.incident}"
    ),
    ("action", "incidents.set_severity"): _button(
        "incidents.set_severity", "{r.incident}:sev1", option=True
    ),
    ("action", "incidents.set_status"): _button(
        "incidents.set_status", "{r.incident}:resolved", option=True
    ),
    ("action", "incidents.snooze"): _button("incidents.snooze", "{r.incident}:1"),
    ("action", "incidents.followup_agent"): _button(
        "incidents.followup_agent", "{r.incident}:{r.followup}", option=True
    ),
    ("action", "agents.cancel"): _button("agents.cancel", "{r.task}"),
    ("action", "agents.show_context"): _button("agents.show_context", "{r.request}"),
    ("action", "agents.open_pr"): _button("agents.open_pr", "{r.task}"),
    ("action", "agents.continue"): _button("agents.continue", "{r.task}"),
    ("action", "agents.pick_repo"): _repo_pick(),
    ("action", "ci.ask_agents"): _button("ci.ask_agents", "{r.breakage}"),
    ("action", "standups.write"): _button("standups.write", "{r.run}"),
    ("action", "codered.keep_level"): _button("codered.keep_level", "{r.notice}"),
    ("action", "codered.step_down"): _button("codered.step_down", "{r.notice}"),
    ("view", "codered.declare"): _form("codered.declare", CODERED_FORM),
    ("view", "standups.create"): _form("standups.create", STANDUP_FORM),
    ("view", "standups.answer"): _form("standups.answer", ANSWER_FORM, {"run": "{r.run}"}),
    ("view", "agents.send"): _form("agents.send", AGENT_FORM, {"channel": SECRET}),
    ("view", "ci.ask_agents.form"): _form(
        "ci.ask_agents.form", FIX_FORM, {"breakage": "{r.breakage}"}
    ),
    ("view", "incidents.followup_agent.form"): _form(
        "incidents.followup_agent.form",
        FOLLOWUP_FORM,
        {"incident": "{r.incident}", "followup": "{r.followup}"},
    ),
    ("shortcut", "send_to_agent"): _shortcut("send_to_agent"),
}
# Declared entries that touch no record: anyone in the workspace may use them.
OPEN = {("view", "incidents.declare")}
# Who passes the gate with each probe's payload (anyone else's: ENTITLED).
ENTITLED_FOR = {("view", "codered.declare"): DECLARER}
# Carol may see the secret records (she is added to the channel) but holds none of them: these
# probes exercise the verb rules beyond `see`.
SEES_ONLY = CAROL
SEE_BUT_NOT_ACT: dict[tuple[str, str], Build] = {
    ("action", "agents.cancel"): PROBES[("action", "agents.cancel")],
    ("action", "agents.open_pr"): PROBES[("action", "agents.open_pr")],
    ("action", "agents.continue"): PROBES[("action", "agents.continue")],
    ("action", "ci.ask_agents"): PROBES[("action", "ci.ask_agents")],
    ("view", "ci.ask_agents.form"): PROBES[("view", "ci.ask_agents.form")],
    ("command", "/standup"): PROBES[("command", "/standup")],
    ("action", "standups.write"): PROBES[("action", "standups.write")],
    ("view", "standups.answer"): PROBES[("view", "standups.answer")],
    ("command", "/codered"): PROBES[("command", "/codered")],
}


def _key(entry: Entry) -> tuple[str, str]:
    return entry.type, entry.key.pattern if isinstance(entry.key, re.Pattern) else entry.key


@pytest.fixture
async def bot(db_url: str) -> AsyncIterator[BotUnderTest]:
    async with running_bot(db_url, start_workers=False, **CONFIG) as running:
        running.state.add_channel("secret", [ALICE, BOB, running.state.bot_user_id],
                                  is_private=True, id=SECRET)  # fmt: skip
        yield running


async def _snapshot(bot: BotUnderTest) -> dict[str, list[tuple[Any, ...]]]:
    found = {}
    async with bot.rt.sessions() as session:
        for table in metadata.sorted_tables:
            rows = await session.execute(select(table))
            found[table.name] = sorted(tuple(map(repr, row)) for row in rows)
    return found


async def _send(bot: BotUnderTest, type_: str, payload: Payload) -> Any:
    from urllib.parse import urlencode

    if type_ == COMMAND:
        body = urlencode(payload).encode()
    else:
        body = urlencode({"payload": json.dumps(payload)}).encode()
    form = "application/x-www-form-urlencoded"
    return await bot.slack.send(body, form, type_)


async def _told(
    bot: BotUnderTest,
    before: int,
    wait: Callable[[], Awaitable[None]] = lambda: asyncio.sleep(0.02),
    user: str = MALLORY,
) -> str:
    """The ephemeral the gate sent the prober (through response_url or chat.postEphemeral)."""
    for _ in range(100):
        said = bot.state.ephemerals_for(user)[before:]
        if said:
            return said[-1].text
        await wait()
    return ""


def _refusal_in(type_: str, response: Any) -> str:
    """The refusal a command's or a form's acknowledgement carries ("" for the others)."""
    if type_ == COMMAND:
        return str(response.json().get("text"))
    payload = response.json() if response.content else {}
    if type_ == "view":
        assert payload.get("response_action") in ("errors", "update"), payload
        if payload["response_action"] == "errors":
            return " ".join(payload["errors"].values())
        return " ".join(block["text"]["text"] for block in payload["view"]["blocks"])
    return ""


async def _expected_refusal(bot: BotUnderTest, type_: str, payload: Payload) -> Refused:
    """What the gate itself says to this payload's sender (it must refuse)."""
    entry = _entry(bot, type_, payload)
    with pytest.raises(Refused) as refused:
        await bot.rt.gate._check(entry, incoming_of(payload))
    assert str(refused.value) != UNREADABLE, f"{_key(entry)}: the probe payload is unreadable"
    return refused.value


def _entry(bot: BotUnderTest, type_: str, payload: Payload) -> Entry:
    """The declaration the gate matches this payload with."""
    found = request_key(payload)
    assert found is not None and found[0] == type_, (type_, found)
    entry = bot.rt.gate.find(*found)
    assert entry is not None, found
    return entry


async def _probe(
    bot: BotUnderTest, type_: str, key: str, payload: Payload, user: str
) -> tuple[Refused, str]:
    """Send a probe; it must be refused with the gate's own reason and change no row."""
    expected = await _expected_refusal(bot, type_, payload)
    before_rows = await _snapshot(bot)
    before_said = len(bot.state.ephemerals_for(user))
    response = await _send(bot, type_, payload)
    assert response.status_code == 200, (key, response.text)
    said = _refusal_in(type_, response) or await _told(bot, before_said, user=user)
    assert str(expected)[:140] in said, (key, str(expected), said)
    assert UNREADABLE not in said, (key, said)
    # Listeners run before the acknowledgement, so anything written is there by now.
    assert await _snapshot(bot) == before_rows, f"{key} wrote something"
    assert not bot.state.open_views(user), f"{key} opened a view for the prober"
    return expected, said


def test_every_declared_entry_has_a_probe(db_url: str) -> None:
    """A new command, button, form or shortcut must come with its probe here."""
    from bot.app import build_runtime
    from bot.config import Settings

    rt = build_runtime(Settings(database_url=db_url, **CONFIG))
    declared = {_key(entry) for entry in rt.gate.entries}
    assert declared == set(PROBES) | OPEN, "declared entries without a probe, or stale probes"


async def test_a_non_member_is_refused_everywhere_and_nothing_is_written(
    bot: BotUnderTest,
) -> None:
    records = await _records(bot)
    for (type_, key), build in PROBES.items():
        payload = build(bot, records, MALLORY)
        await _probe(bot, type_, key, payload, MALLORY)
        # Control: the very same payload, only its sender swapped for someone entitled (who is
        # no admin), passes the gate, and touches the same records.
        entry = _entry(bot, type_, payload)
        forged = incoming_of(payload)
        entitled = replace(forged, user=ENTITLED_FOR.get((type_, key), ENTITLED))
        async with bot.rt.sessions() as session:
            targets = list(await entry.targets(session, forged))
            assert targets == list(await entry.targets(session, entitled)), key
            assert targets, f"{key}: the probe touches no record, so it proves nothing"
            for target in targets:
                assert await bot.rt.policy.subject(session, target.kind, target.ref), target
        try:
            await bot.rt.gate._check(entry, entitled)
        except Refused as refusal:  # pragma: no cover - the failure message says which
            pytest.fail(f"{key}: the entitled user was refused too: {refusal}")


async def test_someone_who_may_see_a_record_still_may_not_change_it(bot: BotUnderTest) -> None:
    """Carol reads the private channel but asked for, owns and was sent nothing in it."""
    records = await _records(bot)
    bot.state.channels[SECRET].members.add(SEES_ONLY)
    for (type_, key), build in SEE_BUT_NOT_ACT.items():
        payload = build(bot, records, SEES_ONLY)
        refusal, said = await _probe(bot, type_, key, payload, SEES_ONLY)
        assert not isinstance(refusal, NotFound), f"{key}: refused as unseen: {refusal}"
        assert str(refusal).startswith("Only "), (key, str(refusal))


async def test_a_listener_registered_around_the_gate_never_runs(bot: BotUnderTest) -> None:
    ran: list[str] = []

    @bot.rt.bolt.action("sneaky.button")
    async def sneaky(ack: Any) -> None:  # registered on Bolt directly, not declared
        ran.append("ran")
        await ack()

    payload = bot.slack.build_block_action(ALICE, "sneaky.button", "1", channel="C0GENERAL")
    payload["actions"][0]["action_id"] = "sneaky.button"
    response = await _send(bot, "action", payload)
    assert response.status_code == 200 and ran == []


async def test_list_commands_hide_private_records_from_non_members(bot: BotUnderTest) -> None:
    await _records(bot)
    for command, hidden in (("/incident", "Payroll export"), ("/standup", "Secret daily")):
        answer = await bot.slack.command(command, "list", user=MALLORY, channel="C0GENERAL")
        assert hidden not in answer.text
        answer = await bot.slack.command(command, "list", user=ALICE, channel="C0GENERAL")
        assert hidden in answer.text


PRIVATE_TABLES = (
    "incidents", "incident_role_assignments", "incident_timeline", "agent_requests",
    "agent_tasks", "standups", "standup_participants", "codereds", "codered_loans",
)  # fmt: skip
# Words that make the prober's own new records (legitimately): the tables then change.
CREATING = {"", "declare", "create", "run"}
PRIVATE_WORDS = ("Payroll export leaks", "rotate the payroll keys", "Secret daily")
ARGUMENTS = st.sampled_from(
    ["#1", "1", "2", "Secret daily", "<@U0ALICE>", "<@U0DAVE>", "commander", "red", "sev1",
     "mitigated", "now", "off", "daily", "09:00", "octo-org/octo-repo", "main", "2h", "fix it",
     "<!channel>", "\u202e"]
)  # fmt: skip


# Each private word, and a name of the same shape that names nothing.
UNKNOWN_WORDS = {
    "Payroll export leaks": "Payrolx exporx leakx",
    "rotate the payroll keys": "rotatx thx payrolx keyx",
    "Secret daily": "Secrex dailx",
}


# The same word by word: a command may echo one word of a name typed in full.
TWIN_WORDS = {
    word: twin
    for name, unknown in UNKNOWN_WORDS.items()
    for word, twin in zip(name.split(), unknown.split(), strict=True)
}


def _unknown(text: str) -> str:
    for word, unknown in UNKNOWN_WORDS.items():
        text = text.replace(word, unknown)
    return text


def _differ_only_by_echoes(said: str, unknown: str, typed: str) -> bool:
    """Whether the two answers differ only where one echoes a word of a private name the
    prober typed and the other the same word of its twin."""
    ours, theirs = re.findall(r"\w+|\W", said), re.findall(r"\w+|\W", unknown)
    return len(ours) == len(theirs) and all(
        a == b or (TWIN_WORDS.get(a) == b and a in typed) for a, b in zip(ours, theirs, strict=True)
    )


async def _said_to(bot: BotUnderTest, command: str, text: str, user: str) -> str:
    """All the person was shown: the command's acknowledgement and every ephemeral since."""
    before = len(bot.state.ephemerals_for(user))
    response = await bot.slack.command(command, text, user=user, channel="C0GENERAL")
    assert response.status_code == 200, response.text
    try:
        parts = [json.dumps(response.json(), ensure_ascii=False, sort_keys=True)]
    except ValueError:
        parts = [response.text]
    for shown in bot.state.ephemerals_for(user)[before:]:
        parts.append(shown.text + json.dumps(shown.blocks or [], ensure_ascii=False))
    return "\n".join(parts)


def _subcommands(bot: BotUnderTest) -> list[tuple[str, str]]:
    """Every command and subcommand the bot documents: new ones are drawn without edits here."""
    found = []
    for usage in bot.rt.commands.all():
        for syntax, _ in usage.lines:
            word = syntax.split(" ")[0] if syntax else ""
            if word not in CREATING:
                found.append((usage.command, word))
    return found


@given(data=st.data())
@settings(
    max_examples=80, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
async def test_no_command_text_reveals_or_changes_a_private_record(
    prober: tuple[BotUnderTest, dict[str, list[tuple[Any, ...]]]], data: st.DataObject
) -> None:
    """Whatever a non-member types, the answer names nothing private and no row changes."""
    bot, before = prober
    command, sub = data.draw(st.sampled_from(_subcommands(bot)))
    words = data.draw(st.lists(ARGUMENTS | st.text(max_size=8), max_size=4))
    text = " ".join([sub, *words])
    said = await _said_to(bot, command, text, MALLORY)
    leaked = [word for word in PRIVATE_WORDS if word in said and word not in text]
    assert not leaked, (command, text, leaked)
    if _unknown(text) != text:
        # A private word the prober typed may come back only as typed: the answer must be the
        # one a name of the same shape that names nothing gets.
        unknown = await _said_to(bot, command, _unknown(text), MALLORY)
        assert _differ_only_by_echoes(said, unknown, text), (command, text, said, unknown)
    after = await _snapshot(bot)
    for table in PRIVATE_TABLES:
        assert after[table] == before[table], f"{command} {text!r} changed {table}"


@pytest.fixture
async def prober(
    bot: BotUnderTest,
) -> AsyncIterator[tuple[BotUnderTest, dict[str, list[tuple[Any, ...]]]]]:
    await _records(bot)
    yield bot, await _snapshot(bot)


@given(data=st.data())
@settings(
    max_examples=80, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
async def test_no_button_value_lets_a_non_member_change_a_private_record(
    prober: tuple[BotUnderTest, dict[str, list[tuple[Any, ...]]]], data: st.DataObject
) -> None:
    """Every declared button and menu, any value a forger can put in it: refused, unchanged."""
    bot, before = prober
    actions = [e for e in bot.rt.gate.entries if e.type == "action"]
    entry = data.draw(st.sampled_from(actions))
    key = entry.key if isinstance(entry.key, str) else "incidents.take_role.commander"
    value = data.draw(
        st.sampled_from(["1", "2", "1:sev1", "1:resolved", "1:1", "0", "-1", "1.5", ""])
        | st.text(max_size=12)
    )
    payload = bot.slack.build_block_action(MALLORY, key, channel="C0GENERAL")
    payload["actions"][0].update(action_id=key, value=value, selected_option={"value": value})
    expected = await _expected_refusal(bot, "action", payload)
    before_said = len(bot.state.ephemerals_for(MALLORY))
    response = await _send(bot, "action", payload)
    assert response.status_code == 200, response.text
    told = await _told(bot, before_said)
    assert str(expected) in told, (key, value, str(expected), told)
    assert await _snapshot(bot) == before, f"{key} {value!r} wrote something"
    assert not bot.state.open_views(MALLORY), f"{key} {value!r} opened a view"


async def _standup_row(bot: BotUnderTest, name: str) -> Any:
    from bot.standups.models import Standup

    async with bot.rt.sessions() as session:
        return await session.scalar(select(Standup).where(Standup.name == name))


async def _ask(bot: BotUnderTest, command: str, text: str, user: str, channel: str) -> str:
    """What the person was told (the command's answer, and anything said ephemerally since)."""
    before = len(bot.state.ephemerals_for(user))
    response = await bot.slack.command(command, text, user=user, channel=channel)
    assert response.status_code == 200, response.text
    return "\n".join(e.text for e in bot.state.ephemerals_for(user)[before:])


async def test_a_standup_named_like_an_id_is_checked_as_the_standup_it_names(
    bot: BotUnderTest,
) -> None:
    """Refs are ids the gate resolves from the name, so `/standup pause id:N` is checked against
    the standup named "id:N", the one it pauses, and not against standup #N."""
    from bot.sandbox.seed import STANDUP

    create = "create {name} <#" + STANDUP + "> 09:00 <@{user}>"
    await _ask(bot, "/standup", create.format(name="Mine", user=MALLORY), MALLORY, STANDUP)
    mine = await _standup_row(bot, "Mine")
    lookalike = f"id:{mine.id}"
    await _ask(bot, "/standup", create.format(name=lookalike, user=ALICE), ALICE, STANDUP)
    assert (await _standup_row(bot, lookalike)).created_by == ALICE

    # The gate itself refuses (the command no longer checks again).
    entry = bot.rt.gate.find(COMMAND, "/standup")
    assert entry is not None
    typed = Incoming({"command": "/standup", "text": f"pause {lookalike}"}, MALLORY, STANDUP)
    with pytest.raises(Refused, match=f"Only <@{ALICE}> or an admin can change “{lookalike}”"):
        await bot.rt.gate._check(entry, typed)
    answer = await _ask(bot, "/standup", f"pause {lookalike}", MALLORY, STANDUP)
    assert f"Only <@{ALICE}> or an admin can change “{lookalike}”" in answer, answer
    assert not (await _standup_row(bot, lookalike)).paused
    assert not (await _standup_row(bot, "Mine")).paused

    answer = await _ask(bot, "/standup", f"pause {lookalike}", ALICE, STANDUP)
    assert "paused" in answer, answer
    assert (await _standup_row(bot, lookalike)).paused
    assert not (await _standup_row(bot, "Mine")).paused

    # A ref the name lookup cannot read is no standup, not an error inside the gate.
    answer = await _ask(bot, "/standup", "pause id:\u00b2", MALLORY, STANDUP)
    assert "no standup called" in answer, answer


async def test_someone_taken_off_a_standup_still_answers_the_prompt_they_were_sent(
    bot: BotUnderTest,
) -> None:
    """Answering is for the people a day's prompt went to (its delivery rows), not for whoever
    is on the standup now: Bob, removed after his prompt, answers; Erin, added after, may not."""
    from bot.standups.models import Standup, StandupAnswer

    records = await _records(bot)
    async with transaction(bot.rt.sessions) as session:
        standup = await session.scalar(select(Standup).where(Standup.name == records.standup))
        await standups.remove_participant(session, standup.id, BOB, "user")
        await standups.add_participant(session, standup.id, ERIN, "user")
    bot.state.channels[SECRET].members.add(ERIN)  # Erin may see it, but was sent nothing

    write = bot.rt.gate.find("action", "standups.write")
    assert write is not None
    button = bot.slack.build_block_action(BOB, "standups.write", str(records.run))
    button["actions"][0]["action_id"] = "standups.write"
    await bot.rt.gate._check(write, Incoming(button, BOB, SECRET))
    with pytest.raises(Refused, match="Only the people it was sent to can answer"):
        await bot.rt.gate._check(write, Incoming(button, ERIN, SECRET))

    metadata = json.dumps({"run": records.run})
    payload = bot.slack.build_view_submission(BOB, "standups.answer", ANSWER_FORM, metadata)
    response = await _send(bot, "view", payload)
    assert response.status_code == 200 and not response.content, response.text
    async with bot.rt.sessions() as session:
        answer = await session.scalar(select(StandupAnswer).where(StandupAnswer.user_id == BOB))
    assert answer is not None and answer.answers == ["spying"]


# ------------------------------------------------------------------ the membership directory


class _Slack:
    """conversations.info and .members for one private channel, answering when released."""

    def __init__(self, fail: Exception | None = None, delay: float = 0.0) -> None:
        self.calls = 0
        self.started = asyncio.Event()
        self.release = asyncio.Event()
        self.release.set()
        self.fail, self.delay = fail, delay

    async def conversations_info(self, channel: str) -> dict[str, Any]:
        self.calls += 1
        self.started.set()
        await self.release.wait()
        await asyncio.sleep(self.delay)
        if self.fail is not None:
            raise self.fail
        return {"channel": {"id": channel, "is_private": True}}

    async def conversations_members(self, **_: Any) -> dict[str, Any]:
        return {"members": [ALICE, BOB]}


async def test_a_cancelled_waiter_leaves_the_shared_lookup_to_the_others() -> None:
    slack = _Slack()
    slack.release.clear()
    directory = Directory(slack)  # type: ignore[arg-type]
    first = asyncio.create_task(directory.facts(SECRET))
    await slack.started.wait()
    second = asyncio.create_task(directory.facts(SECRET))
    await asyncio.sleep(0)  # the second waits on the same lookup
    first.cancel()
    await asyncio.sleep(0)
    slack.release.set()
    facts = await second
    assert facts.known and facts.members == {ALICE, BOB} and slack.calls == 1
    with pytest.raises(asyncio.CancelledError):
        await first


async def test_a_failed_lookup_hides_for_a_while_without_asking_again() -> None:
    slack = _Slack(fail=OSError("connection reset"))
    directory = Directory(slack)  # type: ignore[arg-type]
    facts = await directory.facts(SECRET)
    assert (facts.known, facts.private, facts.members) == (False, True, frozenset())
    assert not (await directory.facts(SECRET)).known
    assert slack.calls == 1, "a failure is kept briefly, not asked again on every click"


async def test_a_slow_slack_is_waited_for_well_inside_the_acknowledgement() -> None:
    import time

    from bot.core import directory as directory_module

    assert directory_module.LOOKUP_SECONDS <= 1.5
    slack = _Slack(delay=directory_module.LOOKUP_SECONDS + 5)
    started = time.monotonic()
    facts = await Directory(slack).facts(SECRET)  # type: ignore[arg-type]
    assert not facts.known and time.monotonic() - started < directory_module.LOOKUP_SECONDS + 0.5


def test_membership_lookups_and_refusals_use_a_client_that_does_not_retry(db_url: str) -> None:
    from bot.app import build_runtime
    from bot.config import Settings

    rt = build_runtime(Settings(database_url=db_url, **CONFIG))
    directory = rt.policy.directory
    assert isinstance(directory, Directory)
    for client in (directory.client, rt.gate.client):
        assert client.retry_handlers == [] and client.timeout <= 2


async def test_rules_that_need_no_slack_are_asked_first() -> None:
    """An admin, an owner or a participant is let through without a membership lookup."""
    from bot.core.access import Actor, Subject
    from tests.directory import FixedDirectory, fixed_policy

    class Counting(FixedDirectory):
        asked = 0

        async def facts(self, channel: str) -> Any:
            Counting.asked += 1
            return await super().facts(channel)

    policy = fixed_policy(private={SECRET: {ALICE}}, admins=(ERIN,))
    policy.directory = Counting(policy.directory.private)  # type: ignore[attr-defined]
    request = Subject(agents.AGENT_REQUEST, "1", "this agent task", SECRET, owners=frozenset({BOB}))
    standup = Subject(standups.STANDUP, "1", "“Daily”", SECRET, owners=frozenset({BOB}),
                      participants=frozenset({CAROL}))  # fmt: skip
    for subject, user in ((request, ERIN), (request, BOB), (standup, ERIN), (standup, CAROL)):
        await policy.check_subject(
            Actor(user, user == ERIN), policy.kinds[subject.kind], subject, SEE
        )
    assert Counting.asked == 0


async def test_refusals_quote_names_and_refs_inertly(bot: BotUnderTest) -> None:
    """A refusal can quote a standup's name or a button's value: both are someone's text."""
    from bot.sandbox.seed import STANDUP

    name = "Ops <!here> <https://evil.test|login>"
    async with transaction(bot.rt.sessions) as session:
        spec = standups.StandupSpec(
            name=name, channel=STANDUP, questions=["Done?"], days=(0,), minute_of_day=540,
            fixed_tz=None, reminder_minutes=60, cutoff_minutes=180, users=[ALICE],
        )  # fmt: skip
        await standups.create(session, spec, ALICE)
    answer = await _ask(bot, "/standup", f"pause {name}", MALLORY, STANDUP)
    assert f"Only <@{ALICE}> or an admin can change" in answer, answer
    assert "<!here>" not in answer and "<https://evil.test" not in answer, answer
    assert "&lt;https://evil.test|login&gt;" in answer, answer

    before = len(bot.state.ephemerals_for(MALLORY))
    forged = "<https://evil.test|9>:1"
    probe = _button("incidents.snooze", forged)(bot, await _records(bot), MALLORY)
    await _send(bot, "action", probe)
    told = await _told(bot, before)
    assert "There is no incident" in told and "<https://evil.test" not in told, told


def test_subcommand_usage_lines_join_whichever_is_registered_first() -> None:
    """The probes above draw subcommands from the usage: a word must never be missing there."""
    from bot.core.commands import CommandRegistry, Subcommand, Usage
    from bot.core.gate import no_record

    async def run(args: list[str], user: str, channel: str) -> str:
        return ""

    early, late = CommandRegistry(), CommandRegistry()
    sub = Subcommand("digest", run, no_record, (("digest now", "post one now"),))
    usage = Usage("/ops", "help", (("help", "this help"),))
    early.add_subcommand("/ops", sub)
    early.add(usage)
    late.add(usage)
    late.add_subcommand("/ops", sub)
    for registry in (early, late):
        found = registry.get("/ops")
        assert found is not None and found.lines == (
            ("help", "this help"),
            ("digest now", "post one now"),
        )
        assert registry.all() == [found]
