"""Slack listeners and routes of the home feature."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from bot.app import Runtime


def register(rt: Runtime) -> None:
    """Wire the feature into the runtime (listeners, routes, tasks, views, jobs, usage)."""
