"""Slack's rate budget shared by the replicas: one token bucket per method (and channel)

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-01 20:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import bot.core.db

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "slack_rate_budget",
        sa.Column("method", sa.String(length=64), nullable=False),
        sa.Column("scope", sa.String(length=64), nullable=False),
        sa.Column("capacity", sa.Float(), nullable=False),
        sa.Column("rate", sa.Float(), nullable=False),
        sa.Column("tokens", sa.Float(), nullable=False),
        sa.Column("updated_at", bot.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("paused_until", bot.core.db.UTCDateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("method", "scope", name=op.f("pk_slack_rate_budget")),
    )


def downgrade() -> None:
    op.drop_table("slack_rate_budget")
