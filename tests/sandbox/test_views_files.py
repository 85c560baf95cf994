from __future__ import annotations

import pytest
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.sandbox import SandboxState

MODAL = {
    "type": "modal",
    "callback_id": "declare_incident",
    "title": {"type": "plain_text", "text": "Declare incident"},
    "submit": {"type": "plain_text", "text": "Declare"},
    "private_metadata": "C0INCIDENTS",
    "blocks": [
        {
            "type": "input",
            "block_id": "title",
            "label": {"type": "plain_text", "text": "Title"},
            "element": {"type": "plain_text_input", "action_id": "value"},
        }
    ],
}
HOME = {
    "type": "home",
    "blocks": [{"type": "section", "text": {"type": "mrkdwn", "text": "*No open incidents*"}}],
}


async def _error(call: object) -> str:
    with pytest.raises(SlackApiError) as info:
        await call  # type: ignore[misc]
    return str(info.value.response["error"])


async def test_views_open_returns_view_with_id_and_hash(
    client: AsyncWebClient, state: SandboxState
) -> None:
    trigger = state.new_trigger("U0ALICE")
    resp = await client.views_open(trigger_id=trigger, view=MODAL)
    view = resp["view"]
    assert view["id"].startswith("V") and view["hash"]
    assert view["callback_id"] == "declare_incident" and view["private_metadata"] == "C0INCIDENTS"
    assert view["state"] == {"values": {}} and view["root_view_id"] == view["id"]
    assert state.views[view["id"]].user == "U0ALICE"


async def test_views_open_trigger_and_payload_errors(
    client: AsyncWebClient, state: SandboxState
) -> None:
    assert await _error(client.views_open(trigger_id="", view=MODAL)) == "invalid_trigger_id"
    long_title = {**MODAL, "title": {"type": "plain_text", "text": "x" * 25}}
    trigger = state.new_trigger("U0ALICE")
    assert await _error(client.views_open(trigger_id=trigger, view=long_title)) == (
        "invalid_arguments"
    )
    state.strict_triggers = True
    assert await _error(client.views_open(trigger_id="123.456.abc", view=MODAL)) == (
        "invalid_trigger_id"
    )
    stale = state.new_trigger("U0ALICE")
    state.triggers[stale].issued_at -= 10
    assert await _error(client.views_open(trigger_id=stale, view=MODAL)) == "expired_trigger_id"
    assert state.views == {}


async def test_views_push_and_update_with_hash(client: AsyncWebClient, state: SandboxState) -> None:
    opened = (await client.views_open(trigger_id=state.new_trigger("U0ALICE"), view=MODAL))["view"]
    pushed = (await client.views_push(trigger_id=state.new_trigger("U0ALICE"), view=MODAL))["view"]
    assert pushed["previous_view_id"] == opened["id"] and pushed["root_view_id"] == opened["id"]
    changed = {**MODAL, "title": {"type": "plain_text", "text": "Updated"}}
    updated = await client.views_update(view_id=opened["id"], view=changed, hash=opened["hash"])
    assert updated["view"]["title"]["text"] == "Updated"
    assert updated["view"]["hash"] != opened["hash"]
    stale = client.views_update(view_id=opened["id"], view=MODAL, hash=opened["hash"])
    assert await _error(stale) == "hash_conflict"
    assert state.views[opened["id"]].payload["title"]["text"] == "Updated"
    assert await _error(client.views_update(view_id="V0NOPE", view=MODAL)) == "not_found"


async def test_views_update_by_external_id(client: AsyncWebClient, state: SandboxState) -> None:
    with_external = {**MODAL, "external_id": "incident-7"}
    await client.views_open(trigger_id=state.new_trigger("U0BOB"), view=with_external)
    resp = await client.views_update(external_id="incident-7", view=with_external)
    assert resp["view"]["external_id"] == "incident-7"


async def test_views_publish_home(client: AsyncWebClient, state: SandboxState) -> None:
    first = await client.views_publish(user_id="U0BOB", view=HOME)
    assert first["view"]["type"] == "home"
    second = await client.views_publish(user_id="U0BOB", view=HOME, hash=first["view"]["hash"])
    assert second["view"]["id"] == first["view"]["id"]
    assert state.home_views["U0BOB"].hash == second["view"]["hash"]
    stale = client.views_publish(user_id="U0BOB", view=HOME, hash=first["view"]["hash"])
    assert await _error(stale) == "hash_conflict"
    assert await _error(client.views_publish(user_id="U0GHOST", view=HOME)) == "user_not_found"
    assert await _error(client.views_publish(user_id="U0BOB", view=MODAL)) == "invalid_arguments"


async def test_files_upload_v2_end_to_end(client: AsyncWebClient, state: SandboxState) -> None:
    parent = await client.chat_postMessage(channel="C0INCIDENTS", text="incident")
    resp = await client.files_upload_v2(
        channel="C0INCIDENTS",
        content=b"line 1\nline 2\n",
        filename="timeline.txt",
        title="Timeline",
        initial_comment="Timeline attached",
        thread_ts=parent["ts"],
    )
    file_id = resp["file"]["id"]
    stored = state.files[file_id]
    assert stored.content == b"line 1\nline 2\n" and stored.title == "Timeline"
    assert stored.channels == ["C0INCIDENTS"]
    reply = state.replies("C0INCIDENTS", parent["ts"])[0]
    assert reply.files == [file_id] and reply.text == "Timeline attached"
    info = await client.files_info(file=file_id)
    assert info["file"]["name"] == "timeline.txt" and info["file"]["size"] == 14
    uploads = state.calls_to("upload")
    assert uploads[0].args == {"file_id": file_id, "bytes": 14}


async def test_complete_without_upload_fails_and_shares_nothing(
    client: AsyncWebClient, state: SandboxState
) -> None:
    url = await client.files_getUploadURLExternal(filename="a.txt", length=3)
    assert url["upload_url"].endswith(f"/upload/{url['file_id']}")
    complete = client.files_completeUploadExternal(
        files=[{"id": url["file_id"], "title": "A"}], channel_id="C0GENERAL"
    )
    assert await _error(complete) == "file_not_found"
    assert state.messages("C0GENERAL") == []
    assert await _error(client.files_info(file=url["file_id"])) == "file_not_found"


async def test_upload_refused_in_channel_without_bot(
    client: AsyncWebClient, state: SandboxState
) -> None:
    with pytest.raises(SlackApiError) as info:
        await client.files_upload_v2(channel="C0RANDOM", content="x", filename="x.txt")
    assert info.value.response["error"] == "not_in_channel"
    assert all(not f.completed for f in state.files.values())
