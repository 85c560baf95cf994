"""files.* methods implementing Slack's external upload flow.

getUploadURLExternal -> raw POST of the bytes to the returned URL ->
completeUploadExternal, which shares the file as a message in the channel.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .access import postable_channel
from .args import Args
from .errors import SlackError
from .models import Channel, File, JsonDict
from .serialize import file_json

if TYPE_CHECKING:
    from .state import SandboxState

MAX_FILE_BYTES = 1024**3


def get_upload_url(state: SandboxState, args: Args) -> JsonDict:
    filename = args.required("filename")
    length = args.integer("length", -1)
    if not 0 < length <= MAX_FILE_BYTES:
        raise SlackError("invalid_arguments", ["[ERROR] length must be a positive integer"])
    file = File(
        id=state.new_id("F"),
        name=filename,
        length=length,
        user=state.actor.bot_user_id,
        created=int(state.now()),
        alt_txt=args.text("alt_txt") or None,
        snippet_type=args.text("snippet_type") or None,
    )
    state.files[file.id] = file
    return {"upload_url": f"{args.base}/upload/{file.id}", "file_id": file.id}


def receive_upload(state: SandboxState, file_id: str, content: bytes) -> File | None:
    """The bytes POSTed to an upload URL; None when the URL was never issued."""
    file = state.files.get(file_id)
    if file is None or file.completed:
        return None
    file.content = content
    return file


def _pending_files(state: SandboxState, args: Args) -> list[tuple[File, str]]:
    entries = args.decoded("files")
    if not isinstance(entries, list) or not entries:
        raise SlackError("invalid_arguments", ["[ERROR] files must be a non-empty array"])
    pending: list[tuple[File, str]] = []
    for entry in entries:
        file = state.files.get(str(entry.get("id", ""))) if isinstance(entry, dict) else None
        # Until the bytes land the file does not exist as far as Slack is concerned
        if file is None or not file.uploaded or file.completed:
            raise SlackError("file_not_found")
        pending.append((file, str(entry.get("title") or file.name)))
    return pending


def _share_targets(state: SandboxState, args: Args) -> list[Channel]:
    refs = args.id_list("channels") or ([args.text("channel_id")] if args.has("channel_id") else [])
    return [postable_channel(state, ref) for ref in refs]


def complete_upload(state: SandboxState, args: Args) -> JsonDict:
    pending = _pending_files(state, args)
    targets = _share_targets(state, args)
    thread_ts = args.text("thread_ts").strip() or None
    comment = args.text("initial_comment")
    for file, title in pending:
        file.title = title
        file.completed = True
        file.initial_comment = comment or None
        file.thread_ts = thread_ts
        file.channels = [c.id for c in targets]
    file_ids = [file.id for file, _ in pending]
    for channel in targets:
        state.post(
            channel.id, state.actor.bot_user_id, comment, thread_ts=thread_ts, files=file_ids
        )
    return {"files": [file_json(state, file) for file, _ in pending]}


def info(state: SandboxState, args: Args) -> JsonDict:
    file = state.files.get(args.required("file", "file_not_found"))
    owner = state.users.get(file.user) if file is not None else None
    if file is None or not file.completed or owner is None or not state.actor.sees_user(owner):
        raise SlackError("file_not_found")
    return {
        "file": file_json(state, file),
        "comments": [],
        "response_metadata": {"next_cursor": ""},
    }


METHODS = {
    "files.getUploadURLExternal": get_upload_url,
    "files.completeUploadExternal": complete_upload,
    "files.info": info,
}
