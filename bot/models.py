"""Every table the bot has, imported in one place for Alembic and for tests."""

from bot.core import ledger, projector, scheduler, tasks
from bot.core.db import Base

metadata = Base.metadata

__all__ = ["ledger", "metadata", "projector", "scheduler", "tasks"]
