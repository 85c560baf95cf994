"""Per-channel message storage with Slack's thread bookkeeping."""

from __future__ import annotations

from .models import Message

TOMBSTONE_TEXT = "This message was deleted."


class MessageLog:
    def __init__(self) -> None:
        self._by_channel: dict[str, list[Message]] = {}
        self._index: dict[tuple[str, str], Message] = {}

    def add(self, msg: Message) -> None:
        # ts values only grow, so appending keeps every channel in ts order
        self._by_channel.setdefault(msg.channel, []).append(msg)
        self._index[(msg.channel, msg.ts)] = msg
        if msg.is_reply and msg.thread_ts is not None:
            self._refresh_thread(msg.channel, msg.thread_ts)

    def find(self, channel: str, ts: str) -> Message | None:
        return self._index.get((channel, ts))

    def all(self, channel: str) -> list[Message]:
        return list(self._by_channel.get(channel, []))

    def top_level(self, channel: str) -> list[Message]:
        """What the channel view shows: roots plus replies also sent to the channel."""
        return [m for m in self._by_channel.get(channel, []) if not m.is_reply or m.reply_broadcast]

    def thread(self, channel: str, thread_ts: str) -> list[Message]:
        """Replies only, oldest first; the parent is not included."""
        return [
            m for m in self._by_channel.get(channel, []) if m.is_reply and m.thread_ts == thread_ts
        ]

    def channels(self) -> list[str]:
        return [channel for channel, msgs in self._by_channel.items() if msgs]

    def remove(self, channel: str, ts: str) -> Message | None:
        msg = self._index.get((channel, ts))
        if msg is None:
            return None
        if msg.reply_count > 0:
            # Slack keeps a placeholder so the thread stays reachable
            self._tombstone(msg)
            return msg
        self._by_channel[channel].remove(msg)
        del self._index[(channel, ts)]
        if msg.is_reply and msg.thread_ts is not None:
            self._refresh_thread(channel, msg.thread_ts)
        return msg

    def _tombstone(self, msg: Message) -> None:
        msg.subtype = "tombstone"
        msg.text = TOMBSTONE_TEXT
        msg.user = "USLACKBOT"
        msg.blocks = None
        msg.bot_id = None
        msg.app_id = None
        msg.files = []
        msg.metadata = None
        msg.reactions = {}

    def _refresh_thread(self, channel: str, thread_ts: str) -> None:
        parent = self._index.get((channel, thread_ts))
        if parent is None:
            return
        replies = self.thread(channel, thread_ts)
        if not replies and parent.subtype == "tombstone":
            self._by_channel[channel].remove(parent)
            del self._index[(channel, thread_ts)]
            return
        parent.reply_count = len(replies)
        parent.reply_users = list(dict.fromkeys(r.user for r in replies))
        parent.latest_reply = replies[-1].ts if replies else None
        parent.thread_ts = parent.ts if replies else None
