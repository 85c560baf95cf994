"""App Home is a projected view: its own versions and publish tasks go

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-01 19:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("home_tabs") as batch:
        batch.drop_column("version")
        batch.drop_column("published_version")
        batch.drop_column("content_hash")
        batch.drop_column("published_at")
    # Nothing handles these any more; the projector draws each kept home when it changes.
    op.execute("DELETE FROM tasks WHERE kind = 'home.publish' AND status = 'pending'")


def downgrade() -> None:
    with op.batch_alter_table("home_tabs") as batch:
        batch.add_column(sa.Column("published_at", sa.DateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column("content_hash", sa.String(length=64), nullable=True))
        batch.add_column(
            sa.Column("published_version", sa.Integer(), nullable=False, server_default="0")
        )
        batch.add_column(sa.Column("version", sa.Integer(), nullable=False, server_default="0"))
