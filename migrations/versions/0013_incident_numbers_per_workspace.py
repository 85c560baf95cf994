"""Incident numbers are counted per workspace: incidents.number, unique within the team, and
incident_counters, the row a workspace's declarations take turns on

Existing incidents keep the number people know: their id, which was the number until now.

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-02 12:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0013"
down_revision: str | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "incident_counters",
        sa.Column("team_id", sa.String(length=32), nullable=False),
        sa.Column("last_number", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("team_id", name=op.f("pk_incident_counters")),
    )
    with op.batch_alter_table("incidents") as batch:
        batch.add_column(sa.Column("number", sa.Integer(), nullable=True))
    op.get_bind().execute(sa.text("UPDATE incidents SET number = id"))
    with op.batch_alter_table("incidents") as batch:
        batch.alter_column("number", existing_type=sa.Integer(), nullable=False)
        batch.create_unique_constraint("uq_incidents_team_id_number", ["team_id", "number"])


def downgrade() -> None:
    with op.batch_alter_table("incidents") as batch:
        batch.drop_constraint("uq_incidents_team_id_number", type_="unique")
        batch.drop_column("number")
    op.drop_table("incident_counters")
