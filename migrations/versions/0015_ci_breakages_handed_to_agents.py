"""A CI breakage can be handed to coding agents from its card (`ci_fix_requests`); an agent
request names who is asked to review its attempts; an attempt keeps what CI said of its branch

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-03 09:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import bot.core.db

revision: str = "0015"
down_revision: str | None = "0014"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "ci_fix_requests",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("breakage_id", sa.Integer(), nullable=False),
        sa.Column("round", sa.Integer(), nullable=False),
        sa.Column("channel", sa.String(length=32), nullable=False),
        sa.Column("thread_ts", sa.String(length=32), nullable=False),
        sa.Column("requested_by", sa.String(length=32), nullable=False),
        sa.Column("reviewers", sa.JSON(), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("problem", sa.Text(), nullable=True),
        sa.Column("left_out", sa.Text(), nullable=True),
        sa.Column("agent_request_id", sa.Integer(), nullable=True),
        sa.Column("fixed_by", sa.JSON(), nullable=False),
        sa.Column("credited_at", bot.core.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("credit_note", sa.Text(), nullable=True),
        sa.Column("created_at", bot.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("team_id", sa.String(length=32), server_default="", nullable=False),
        sa.Column("enterprise_id", sa.String(length=32), nullable=True),
        sa.ForeignKeyConstraint(
            ["breakage_id"],
            ["ci_breakages.id"],
            name=op.f("fk_ci_fix_requests_breakage_id_ci_breakages"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ci_fix_requests")),
        sa.UniqueConstraint(
            "team_id",
            "breakage_id",
            "round",
            name=op.f("uq_ci_fix_requests_team_id_breakage_id_round"),
        ),
    )
    op.create_index(op.f("ix_ci_fix_requests_breakage_id"), "ci_fix_requests", ["breakage_id"])
    op.create_index(op.f("ix_ci_fix_requests_team_id"), "ci_fix_requests", ["team_id"])
    with op.batch_alter_table("agent_requests") as batch:
        batch.add_column(sa.Column("reviewers", sa.JSON(), nullable=True))
    with op.batch_alter_table("agent_tasks") as batch:
        batch.add_column(sa.Column("ci_state", sa.String(length=16), nullable=True))
        batch.add_column(sa.Column("ci_sha", sa.String(length=64), nullable=True))
        batch.add_column(sa.Column("ci_url", sa.Text(), nullable=True))
        batch.add_column(sa.Column("ci_runs", sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("agent_tasks") as batch:
        batch.drop_column("ci_runs")
        batch.drop_column("ci_url")
        batch.drop_column("ci_sha")
        batch.drop_column("ci_state")
    with op.batch_alter_table("agent_requests") as batch:
        batch.drop_column("reviewers")
    op.drop_table("ci_fix_requests")
