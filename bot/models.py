"""Every table the bot has, imported in one place for Alembic and for tests."""

from bot.core import (
    departures,
    installations,
    known_workspaces,
    leases,
    ledger,
    projector,
    ratebudget,
    scheduler,
    tasks,
)
from bot.core.db import Base
from bot.features import modules_named

FEATURE_MODELS = modules_named("models")
metadata = Base.metadata

__all__ = [
    "FEATURE_MODELS",
    "departures",
    "installations",
    "known_workspaces",
    "leases",
    "ledger",
    "metadata",
    "projector",
    "ratebudget",
    "scheduler",
    "tasks",
]
