"""Every Web API method the sandbox answers, by Slack method name."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from . import (
    methods_chat,
    methods_conversations,
    methods_files,
    methods_items,
    methods_membership,
    methods_users,
    methods_views,
    oauth,
)
from .args import Args
from .models import JsonDict

if TYPE_CHECKING:
    from .state import SandboxState

Handler = Callable[["SandboxState", Args], JsonDict]

METHODS: dict[str, Handler] = {
    **methods_chat.METHODS,
    **methods_conversations.METHODS,
    **methods_membership.METHODS,
    **methods_users.METHODS,
    **methods_items.METHODS,
    **methods_views.METHODS,
    **methods_files.METHODS,
    **oauth.METHODS,
}
