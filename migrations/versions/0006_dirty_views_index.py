"""a partial index on dirty views, so the projector's due query reads O(dirty) rows

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-01 12:15:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

DIRTY = "status = 'active' AND version > synced_version"


def upgrade() -> None:
    op.create_index(
        "ix_projections_dirty",
        "slack_projections",
        [sa.text("(ts IS NOT NULL)"), "updated_at", "id"],
        postgresql_where=sa.text(DIRTY),
        sqlite_where=sa.text(DIRTY),
    )


def downgrade() -> None:
    op.drop_index("ix_projections_dirty", table_name="slack_projections")
