from __future__ import annotations

import re

import pytest

from bot.sandbox import SandboxState
from bot.sandbox.ids import TsClock, ts_micros
from bot.sandbox.messages import TOMBSTONE_TEXT

TS_SHAPE = re.compile(r"^\d{10}\.\d{6}$")


def test_ts_is_slack_shaped_and_strictly_increasing_even_with_a_frozen_clock() -> None:
    clock = TsClock(lambda: 1_700_000_000.5)
    issued = [clock.next() for _ in range(1000)]
    assert all(TS_SHAPE.match(ts) for ts in issued)
    assert issued[0] == "1700000000.500000"
    assert issued[1] == "1700000000.500001"
    assert len(set(issued)) == len(issued)
    assert [ts_micros(t) for t in issued] == sorted(ts_micros(t) for t in issued)


def test_ts_unique_across_channels() -> None:
    state = SandboxState()
    first = state.post("C0GENERAL", "U0ALICE", "a")
    second = state.post("C0INCIDENTS", "U0BOB", "b")
    assert first.ts != second.ts
    assert ts_micros(second.ts) > ts_micros(first.ts)


def test_seed_has_bot_people_channels_and_groups() -> None:
    state = SandboxState()
    bot = state.users[state.bot_user_id]
    assert (bot.is_bot, bot.bot_id) == (True, "B0OPSBOT")
    emails = {u.email for u in state.humans()}
    assert "alice@example.com" in emails
    assert len({u.tz for u in state.humans()}) >= 4
    assert state.users["U0ALICE"].tz_offset in (3600, 7200)
    general = state.channel_by_name("#general")
    assert general is not None and state.bot_user_id in general.members
    random = state.channel_by_name("random")
    assert random is not None and state.bot_user_id not in random.members
    assert state.usergroups["S0ONCALL"].handle == "oncall"


def test_unseeded_state_only_knows_the_bot() -> None:
    state = SandboxState(seed=False)
    assert list(state.users) == [state.bot_user_id]
    assert state.channels == {}
    assert state.default_user is None


def test_helpers_add_user_channel_and_group() -> None:
    state = SandboxState(seed=False)
    uid = state.add_user("U1", "zed", email="zed@x.io", tz="Asia/Tokyo", is_admin=True)
    cid = state.add_channel("ops", members=[uid], is_private=True)
    gid = state.add_usergroup("ops-team", [uid])
    assert state.users[uid].tz_offset == 9 * 3600
    assert cid.startswith("C0") and state.channels[cid].is_private
    assert state.channel_by_name("ops").id == cid
    assert state.usergroups[gid].users == [uid]
    assert state.user_by_email("ZED@x.io").id == uid


def test_threads_track_reply_count_users_and_latest() -> None:
    state = SandboxState()
    parent = state.post("C0GENERAL", "U0ALICE", "parent")
    r1 = state.post("C0GENERAL", "U0BOB", "one", thread_ts=parent.ts)
    r2 = state.post("C0GENERAL", "U0BOB", "two", thread_ts=parent.ts)
    r3 = state.post("C0GENERAL", "U0CAROL", "three", thread_ts=parent.ts)
    assert parent.reply_count == 3
    assert parent.reply_users == ["U0BOB", "U0CAROL"]
    assert parent.latest_reply == r3.ts
    assert [m.ts for m in state.messages("C0GENERAL")] == [parent.ts]
    assert [m.ts for m in state.replies("C0GENERAL", parent.ts)] == [r1.ts, r2.ts, r3.ts]
    assert len(state.all_messages("C0GENERAL")) == 4
    state.delete("C0GENERAL", r3.ts)
    assert (parent.reply_count, parent.latest_reply, parent.reply_users) == (2, r2.ts, ["U0BOB"])


def test_broadcast_reply_shows_at_top_level() -> None:
    state = SandboxState()
    parent = state.post("C0GENERAL", "U0ALICE", "parent")
    state.post("C0GENERAL", "U0BOB", "loud", thread_ts=parent.ts, reply_broadcast=True)
    assert [m.text for m in state.messages("C0GENERAL")] == ["parent", "loud"]
    assert state.messages("C0GENERAL")[1].subtype == "thread_broadcast"


def test_deleting_a_parent_with_replies_leaves_a_tombstone() -> None:
    state = SandboxState()
    parent = state.post("C0GENERAL", "U0ALICE", "parent")
    reply = state.post("C0GENERAL", "U0BOB", "reply", thread_ts=parent.ts)
    state.delete("C0GENERAL", parent.ts)
    tomb = state.message("C0GENERAL", parent.ts)
    assert tomb is not None and tomb.subtype == "tombstone" and tomb.text == TOMBSTONE_TEXT
    state.delete("C0GENERAL", reply.ts)
    assert state.message("C0GENERAL", parent.ts) is None


def test_open_im_is_stable_and_d_prefixed() -> None:
    state = SandboxState()
    dm = state.open_im("U0BOB")
    assert dm.startswith("D") and state.open_im("U0BOB") == dm
    assert state.channels[dm].members == {"U0BOB", state.bot_user_id}


def test_reactions_and_pins_primitives() -> None:
    state = SandboxState()
    msg = state.post("C0GENERAL", "U0ALICE", "x")
    state.react("C0GENERAL", msg.ts, "U0BOB", "eyes")
    state.react("C0GENERAL", msg.ts, "U0BOB", "eyes")
    assert msg.reactions == {"eyes": ["U0BOB"]}
    state.unreact("C0GENERAL", msg.ts, "U0BOB", "eyes")
    assert msg.reactions == {}
    state.pin("C0GENERAL", msg.ts, "U0ALICE")
    assert msg.pinned and msg.pinned_by == "U0ALICE"
    with pytest.raises(KeyError):
        state.pin("C0GENERAL", "1.000001", "U0ALICE")


async def test_wait_for_times_out_and_returns_value() -> None:
    state = SandboxState()
    assert await state.wait_for(lambda: 42, timeout=0.1) == 42
    with pytest.raises(TimeoutError):
        await state.wait_for(lambda: state.messages("C0GENERAL"), timeout=0.05)


def test_deliver_due_scheduled_posts_only_due_ones() -> None:
    from bot.sandbox.models import ScheduledMessage

    state = SandboxState()
    now = state.now()
    state.scheduled.append(ScheduledMessage("Q1", "C0GENERAL", int(now) - 1, "due"))
    state.scheduled.append(ScheduledMessage("Q2", "C0GENERAL", int(now) + 999, "later"))
    posted = state.deliver_due_scheduled()
    assert [m.text for m in posted] == ["due"]
    assert [s.id for s in state.scheduled] == ["Q2"]
