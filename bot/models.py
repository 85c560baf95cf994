"""Every table the bot has, imported in one place for Alembic and for tests."""

import bot.agents.models
import bot.ci.models
import bot.codered.models
import bot.digests.models
import bot.home.models
import bot.incidents.models
import bot.standups.models
from bot.core import ledger, projector, ratebudget, scheduler, tasks
from bot.core.db import Base

metadata = Base.metadata

__all__ = ["bot", "ledger", "metadata", "projector", "ratebudget", "scheduler", "tasks"]
