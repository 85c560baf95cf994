"""Agent attempts keep their change (its first lines for the card, the whole patch for the
thread) and the agent's transcript; a request keeps the attempt people chose to continue

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-02 09:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("agent_tasks") as batch:
        batch.add_column(sa.Column("diff_preview", sa.Text(), nullable=True))
        batch.add_column(sa.Column("patch", sa.Text(), nullable=True))
        batch.add_column(sa.Column("transcript", sa.Text(), nullable=True))
    with op.batch_alter_table("agent_requests") as batch:
        batch.add_column(sa.Column("chosen_attempt", sa.Integer(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("agent_requests") as batch:
        batch.drop_column("chosen_attempt")
    with op.batch_alter_table("agent_tasks") as batch:
        batch.drop_column("transcript")
        batch.drop_column("patch")
        batch.drop_column("diff_preview")
