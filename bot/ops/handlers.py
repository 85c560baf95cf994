"""/ops: help for every command, and workspace settings."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from slack_bolt.context.ack.async_ack import AsyncAck

from bot.core.commands import Usage, wants_help
from bot.ops.views import help_blocks, help_text, usage_text

if TYPE_CHECKING:
    from bot.app import Runtime

OPS_USAGE = Usage(
    command="/ops",
    summary="help and workspace settings",
    lines=(("help", "list every command opsbot has, with its usage"),),
)


def register(rt: Runtime) -> None:
    rt.commands.add(OPS_USAGE)

    @rt.bolt.command("/ops")
    async def ops_command(ack: AsyncAck, command: dict[str, Any]) -> None:
        text = command.get("text", "")
        if wants_help(text):
            usages = rt.commands.all()
            await ack(text=help_text(usages), blocks=help_blocks(usages), response_type="ephemeral")
            return
        word = text.split()[0]
        await ack(
            text=f"Unknown /ops subcommand `{word}`. Usage:\n{usage_text(OPS_USAGE)}",
            response_type="ephemeral",
        )
