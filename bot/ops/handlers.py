"""/ops: help for every command, channel digests and activity, workspace settings."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from slack_bolt.context.ack.async_ack import AsyncAck
from sqlalchemy.ext.asyncio import AsyncSession

from bot.core.access import CHANNEL, CONFIGURE, SEE
from bot.core.commands import Usage, UsageError, split_args, wants_help
from bot.core.gate import Incoming, Target
from bot.digests.commands import USAGE_LINES, activity_command, digest_command
from bot.ops.views import help_blocks, help_text

if TYPE_CHECKING:
    from bot.app import Runtime

OPS_USAGE = Usage(
    command="/ops",
    summary="help, channel digests and settings",
    lines=(("help", "list every command opsbot has, with its usage"), *USAGE_LINES),
)


async def answer(rt: Runtime, text: str, user: str, channel: str) -> str:
    """The ephemeral answer to `/ops <text>`; UsageError for input that cannot be read."""
    args = split_args(text)
    word, rest = args[0].lower(), args[1:]
    if word == "digest":
        return await digest_command(rt, rest, user, channel)
    if word == "activity":
        return await activity_command(rt, rest, user, channel, rt.settings.admins)
    return f"Unknown /ops subcommand `{args[0]}`. Usage:\n{OPS_USAGE.text()}"


async def command_targets(session: AsyncSession, incoming: Incoming) -> list[Target]:
    """Digest and activity settings belong to the channel: its members and admins change them;
    its readers may ask what they are."""
    try:
        args = split_args(incoming.text)
    except UsageError:
        return []
    if not args or args[0].lower() not in ("digest", "activity") or not incoming.channel:
        return []
    asks = len(args) == 1 or (args[0].lower() == "activity" and args[1].lower() == "status")
    return [Target(CHANNEL, incoming.channel, SEE if asks else CONFIGURE)]


def register(rt: Runtime) -> None:
    rt.commands.add(OPS_USAGE)

    @rt.gate.command("/ops", command_targets)
    async def ops_command(ack: AsyncAck, command: dict[str, Any]) -> None:
        text = command.get("text", "")
        if wants_help(text):
            usages = rt.commands.all()
            await ack(text=help_text(usages), blocks=help_blocks(usages), response_type="ephemeral")
            return
        user, channel = command.get("user_id", ""), command.get("channel_id", "")
        try:
            reply = await answer(rt, text, user, channel)
        except UsageError as error:
            reply = f"{error}\n{OPS_USAGE.text()}"
        await ack(text=reply, response_type="ephemeral")
