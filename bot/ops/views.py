"""Views for /ops: the help that lists every command the bot has."""

from __future__ import annotations

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
