"""/ops: help for every command, channel digests and activity, workspace settings."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from slack_bolt.context.ack.async_ack import AsyncAck
from sqlalchemy.ext.asyncio import AsyncSession

from bot.core.commands import CommandRegistry, Usage, UsageError, split_args, wants_help
from bot.core.gate import Incoming, Target, Targets
from bot.ops.views import help_blocks, help_text, settings_text

if TYPE_CHECKING:
    from bot.feature import FeatureContext

OPS_USAGE = Usage(
    command="/ops",
    summary="help, channel digests and settings",
    lines=(
        ("help", "list every command opsbot has, with its usage"),
        ("settings", "admins: the settings in force in this workspace"),
    ),
)  # other features add their words (`digest`, `activity`) as subcommands


async def answer(rt: FeatureContext, text: str, user: str, channel: str, team: str = "") -> str:
    """The ephemeral answer to `/ops <text>`; UsageError for input that cannot be read."""
    args = split_args(text)
    if args[0] == "settings":
        return workspace_settings(rt, user, team)
    sub = rt.commands.subcommand("/ops", args[0])
    if sub is not None:
        return await sub.run(args[1:], user, channel)
    usage = rt.commands.get("/ops") or OPS_USAGE
    return f"Unknown /ops subcommand `{args[0]}`. Usage:\n{usage.text()}"


def workspace_settings(rt: FeatureContext, user: str, team: str) -> str:
    """An admin of the workspace sees what is in force there; anyone else is told who may."""
    if user not in rt.settings.for_team(team or None).admins:
        return "Only this workspace's opsbot admins can see its settings (`admins` in the config)."
    overridden = team in getattr(rt.settings, "workspaces", {})
    return settings_text(team, rt.settings.workspace_values(team or None), overridden)


def command_targets(commands: CommandRegistry) -> Targets:
    """What `/ops <word>` touches is for the feature that answers the word to say."""

    async def targets(session: AsyncSession, incoming: Incoming) -> Sequence[Target]:
        try:
            args = split_args(incoming.text)
        except UsageError:
            return []
        sub = commands.subcommand("/ops", args[0]) if args else None
        return list(await sub.targets(session, incoming)) if sub else []

    return targets


def register(rt: FeatureContext) -> None:
    rt.commands.add(OPS_USAGE)

    @rt.gate.command("/ops", command_targets(rt.commands))
    async def ops_command(ack: AsyncAck, command: dict[str, Any]) -> None:
        text = command.get("text", "")
        if wants_help(text):
            usages = rt.commands.all()
            await ack(text=help_text(usages), blocks=help_blocks(usages), response_type="ephemeral")
            return
        user, channel = command.get("user_id", ""), command.get("channel_id", "")
        try:
            reply = await answer(rt, text, user, channel, command.get("team_id", ""))
        except UsageError as error:
            usage = rt.commands.get("/ops") or OPS_USAGE
            reply = f"{error}\n{usage.text()}"
        await ack(text=reply, response_type="ephemeral")
