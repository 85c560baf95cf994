"""Leases on things that are not rows of ours (a workspace's token refresh is done by one
replica at a time); a code red has a war room in each workspace it spans; the channels each
workspace's requests came from (a channel in several is shared between them); cards are
found by their message

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-02 14:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import bot.core.db

revision: str = "0014"
down_revision: str | None = "0013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "named_leases",
        sa.Column("name", sa.String(length=160), nullable=False),
        sa.Column("lease_owner", sa.String(length=120), nullable=False),
        sa.Column("lease_expires", bot.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_named_leases")),
    )
    op.create_table(
        "workspace_channels",
        sa.Column("team_id", sa.String(length=32), nullable=False),
        sa.Column("channel_id", sa.String(length=32), nullable=False),
        sa.PrimaryKeyConstraint("team_id", "channel_id", name=op.f("pk_workspace_channels")),
    )
    op.create_index(
        "ix_slack_projections_message", "slack_projections", ["channel", "ts"], unique=False
    )
    with op.batch_alter_table("codered_spans") as batch:
        batch.add_column(sa.Column("channel_id", sa.String(length=32), nullable=True))
        batch.add_column(sa.Column("channel_name", sa.String(length=80), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("codered_spans") as batch:
        batch.drop_column("channel_name")
        batch.drop_column("channel_id")
    op.drop_index("ix_slack_projections_message", table_name="slack_projections")
    op.drop_table("workspace_channels")
    op.drop_table("named_leases")
