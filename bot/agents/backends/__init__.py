"""Agent backends. Each kind is a module here exposing `create(config, env) -> Backend`."""

from __future__ import annotations

import importlib

from bot.agents.backends.base import Backend, BackendEnv
from bot.agents.settings import AgentBackend


def create_backend(config: AgentBackend, env: BackendEnv) -> Backend:
    """The backend for one configured entry; ValueError names what is wrong with it."""
    module = importlib.import_module(f"bot.agents.backends.{config.kind}")
    create = getattr(module, "create", None)
    if create is None:
        raise ValueError(f"{config.kind!r} is not an agent backend kind (use a2a or command)")
    backend: Backend = create(config, env)
    return backend
