"""The features this process serves. Adding one is its folder and one line here.

Everything else is found in the folder by name: `handlers.register(ctx)` declares what the
feature serves, `models` holds its tables (Alembic and the tests see them through `bot.models`),
and `settings.SECTION` its part of the configuration (`bot.config` puts the sections together).
"""

from __future__ import annotations

import importlib
import importlib.util
from types import ModuleType

FEATURES: tuple[str, ...] = (
    "bot.ops",
    "bot.incidents",
    "bot.ci",
    "bot.standups",
    "bot.codered",
    "bot.agents",
    "bot.digests",
    "bot.home",
)


def modules_named(role: str) -> list[ModuleType]:
    """Each feature's module of that role (`models`, `settings`...), for those that have one."""
    found = []
    for package in FEATURES:
        name = f"{package}.{role}"
        if importlib.util.find_spec(name) is not None:
            found.append(importlib.import_module(name))
    return found
