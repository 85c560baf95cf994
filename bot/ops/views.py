"""Views for /ops: the help that lists every command the bot has, and a workspace's settings."""

from __future__ import annotations

from typing import Any

import yaml
from slack_sdk.models.blocks import Block, ContextBlock, DividerBlock, HeaderBlock, SectionBlock
from slack_sdk.models.blocks.basic_components import MarkdownTextObject

from bot.core.commands import Usage


def usage_blocks(usage: Usage) -> list[Block]:
    return [SectionBlock(text=MarkdownTextObject(text=usage.text()))]


def help_blocks(usages: list[Usage]) -> list[Block]:
    blocks: list[Block] = [HeaderBlock(text="opsbot commands")]
    for usage in usages:
        blocks += [SectionBlock(text=MarkdownTextObject(text=usage.text())), DividerBlock()]
    blocks.append(
        ContextBlock(
            elements=[
                MarkdownTextObject(
                    text="Mention @opsbot in a thread to hand the thread to a coding agent."
                )
            ]
        )
    )
    return blocks


def help_text(usages: list[Usage]) -> str:
    return "\n\n".join(usage.text() for usage in usages)


def settings_text(team: str, values: dict[str, Any], overridden: bool) -> str:
    """The settings in force in one workspace, as the YAML an operator would write."""
    where = (
        f"Settings in force in this workspace ({team}): the defaults, with its own "
        "`workspaces:` overrides applied."
        if overridden
        else f"Settings in force in this workspace ({team}): the defaults (no `workspaces:` "
        "entry names it)."
    )
    dumped = yaml.safe_dump(values, sort_keys=False, default_flow_style=False).strip()
    return f"{where}\n```\n{dumped}\n```"
