"""An incident follow-up can be handed to coding agents (`incident_followups.agent_request_id`);
an agent request names the other feature's view that shows it (`watch_kind`, `watch_id`); an
attempt keeps when its pull request was opened

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-04 09:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import bot.core.db

revision: str = "0016"
down_revision: str | None = "0015"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("incident_followups") as batch:
        batch.add_column(sa.Column("agent_request_id", sa.Integer(), nullable=True))
    with op.batch_alter_table("agent_requests") as batch:
        batch.add_column(sa.Column("watch_kind", sa.String(length=64), nullable=True))
        batch.add_column(sa.Column("watch_id", sa.String(length=64), nullable=True))
    with op.batch_alter_table("agent_tasks") as batch:
        batch.add_column(
            sa.Column("pr_opened_at", bot.core.db.UTCDateTime(timezone=True), nullable=True)
        )


def downgrade() -> None:
    with op.batch_alter_table("agent_tasks") as batch:
        batch.drop_column("pr_opened_at")
    with op.batch_alter_table("agent_requests") as batch:
        batch.drop_column("watch_id")
        batch.drop_column("watch_kind")
    with op.batch_alter_table("incident_followups") as batch:
        batch.drop_column("agent_request_id")
