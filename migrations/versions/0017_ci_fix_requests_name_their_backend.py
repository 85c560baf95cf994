"""A CI fix request keeps the agent backend picked in the card's form
(`ci_fix_requests.backend`; none: `ci.fix_backend`)

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-05 09:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0017"
down_revision: str | None = "0016"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("ci_fix_requests") as batch:
        batch.add_column(sa.Column("backend", sa.String(length=64), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("ci_fix_requests") as batch:
        batch.drop_column("backend")
