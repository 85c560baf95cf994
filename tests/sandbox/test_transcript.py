from __future__ import annotations

import time

from bot.sandbox import SandboxState, render_channel, render_workspace
from bot.sandbox.models import Ephemeral, File, View

FIXED_NOON = 1_700_000_000 - (1_700_000_000 % 86400) + 12 * 3600  # 12:00:00 UTC

INCIDENT_BLOCKS = [
    {"type": "header", "text": {"type": "plain_text", "text": "SEV1: checkout down"}},
    {
        "type": "section",
        "text": {"type": "mrkdwn", "text": "Commander: <@U0ALICE> in <#C0INCIDENTS>"},
        "fields": [
            {"type": "mrkdwn", "text": "*Status*\nInvestigating"},
            {"type": "mrkdwn", "text": "*Paged* <!subteam^S0ONCALL>"},
        ],
    },
    {"type": "divider"},
    {
        "type": "actions",
        "elements": [
            {"type": "button", "action_id": "a", "text": {"type": "plain_text", "text": "Ack"}},
            {
                "type": "static_select",
                "action_id": "s",
                "placeholder": {"type": "plain_text", "text": "Severity"},
            },
        ],
    },
    {"type": "context", "elements": [{"type": "mrkdwn", "text": "opened by opsbot"}]},
    {"type": "image", "image_url": "https://x/graph.png", "alt_text": "error rate graph"},
    {
        "type": "rich_text",
        "elements": [
            {
                "type": "rich_text_section",
                "elements": [
                    {"type": "text", "text": "see "},
                    {"type": "link", "url": "https://status", "text": "status page"},
                ],
            },
            {
                "type": "rich_text_list",
                "style": "bullet",
                "elements": [
                    {"type": "rich_text_section", "elements": [{"type": "text", "text": "one"}]}
                ],
            },
        ],
    },
]


def _state() -> SandboxState:
    # A frozen clock still yields unique ts values, so ordering stays meaningful
    return SandboxState(clock=lambda: FIXED_NOON)


def test_render_channel_shows_blocks_threads_reactions_pins_files() -> None:
    state = _state()
    incident = state.post("C0INCIDENTS", state.bot_user_id, "SEV1", blocks=INCIDENT_BLOCKS)
    state.post("C0INCIDENTS", "U0BOB", "on it\nchecking dashboards", thread_ts=incident.ts)
    state.react("C0INCIDENTS", incident.ts, "U0CAROL", "eyes")
    state.pin("C0INCIDENTS", incident.ts, "U0ALICE")
    state.files["F1"] = File("F1", "timeline.txt", 3, state.bot_user_id, 0, completed=True)
    later = state.post("C0INCIDENTS", state.bot_user_id, "timeline", files=["F1"])
    state.edit("C0INCIDENTS", later.ts, "timeline attached", state.bot_user_id)

    text = render_channel(state, "C0INCIDENTS")
    lines = text.splitlines()
    assert lines[0] == "=== #incidents (C0INCIDENTS) ==="
    assert lines[1] == "[12:00:00] opsbot: [pinned by alice]"
    expected_body = [
        "    == SEV1: checkout down ==",
        "    Commander: @alice in #incidents",
        "    *Status* Investigating | *Paged* @oncall",
        "    ------------------------",
        "    [Ack] [select: Severity]",
        "    opened by opsbot",
        "    [image: error rate graph]",
        "    see status page",
        "    - one",
        "    reactions: :eyes: carol",
    ]
    assert lines[2:12] == expected_body
    assert lines[12] == "    ↳ [12:00:00] bob: on it"
    assert lines[13] == "        checking dashboards"
    assert lines[14] == "[12:00:00] opsbot: timeline attached (edited)"
    assert lines[15] == "    [file: timeline.txt]"


def test_time_column_is_utc_clock_time() -> None:
    state = _state()
    msg = state.post("C0GENERAL", "U0ALICE", "hello")
    expected = time.strftime("%H:%M:%S", time.gmtime(int(float(msg.ts))))
    assert render_channel(state, "C0GENERAL").splitlines()[1] == f"[{expected}] alice: hello"


def test_render_workspace_sections() -> None:
    state = _state()
    state.post("C0GENERAL", "U0ALICE", "morning")
    dm = state.open_im("U0BOB")
    state.post(dm, state.bot_user_id, "your standup is due")
    state.ephemerals.append(Ephemeral("C0GENERAL", "U0CAROL", "only carol", state.next_ts()))
    home_blocks = [{"type": "section", "text": {"type": "mrkdwn", "text": "Welcome home"}}]
    home = View("V1", "home", {"type": "home", "blocks": home_blocks}, "h", user="U0BOB")
    state.home_views["U0BOB"] = home
    modal_payload = {
        "type": "modal",
        "title": {"type": "plain_text", "text": "Declare"},
        "blocks": [{"type": "divider"}],
    }
    state.views["V2"] = View("V2", "modal", modal_payload, "h", user="U0ALICE")

    text = render_workspace(state)
    sections = text.split("\n\n")
    assert sections[0].startswith("=== #general (C0GENERAL) ===")
    assert sections[1].startswith(f"=== DM with bob ({dm}) ===")
    assert "your standup is due" in sections[1]
    assert sections[2].splitlines()[0] == "=== Ephemeral messages ==="
    assert "only carol in #general (chat.postEphemeral): only carol" in sections[2]
    assert sections[3].splitlines() == ["=== App Home: bob ===", "    Welcome home"]
    assert sections[4].splitlines()[0] == "=== Modal: Declare (alice, V2) ==="
    assert "#incidents" not in text


def test_transcript_served_over_http() -> None:
    import asyncio

    import httpx

    from bot.sandbox import create_app

    state = _state()
    state.post("C0GENERAL", "U0ALICE", "hello there")

    async def fetch() -> str:
        transport = httpx.ASGITransport(app=create_app(state))
        async with httpx.AsyncClient(transport=transport, base_url="http://sb") as http:
            return (await http.get("/sandbox/transcript")).text

    assert "alice: hello there" in asyncio.run(fetch())
