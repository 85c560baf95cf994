"""Every table the bot has, imported in one place for Alembic and for tests."""

import bot.ci.models
import bot.incidents.models
from bot.core import ledger, projector, scheduler, tasks
from bot.core.db import Base

metadata = Base.metadata

__all__ = ["bot", "ledger", "metadata", "projector", "scheduler", "tasks"]
