"""Every record belongs to a workspace: team_id and enterprise_id on each workspace's table

A workspace that uninstalls is recorded in workspace_departures. Existing rows are given the workspace of the only installation when there is exactly one
(OAuth mode); otherwise they keep "" (the sole workspace, not named yet), which single-token
mode gives its team at the first auth.test. Unique keys made of Slack ids include the team. A CI breakage is posted in each workspace its
routes name (ci_breakage_posts); the ones before were posted in their channel. A code red is
announced in the other workspaces codered.workspaces names (codered_spans).

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-02 05:10:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TABLES = (
    "activity_messages",
    "activity_opt_outs",
    "activity_reactions",
    "agent_requests",
    "agent_tasks",
    "ci_authors",
    "codered_events",
    "codered_loans",
    "codered_notices",
    "codered_pauses",
    "codereds",
    "digest_runs",
    "digest_schedules",
    "incident_followups",
    "incident_reminders",
    "incident_role_assignments",
    "incident_timeline",
    "incident_timeline_marks",
    "incidents",
    "slack_projections",
    "standup_answers",
    "standup_away",
    "standup_deliveries",
    "standup_participants",
    "standup_runs",
    "standups",
    "tasks",
)
# table: [(old constraint, old columns), ...] -> the same columns with team_id first
UNIQUE_KEYS: dict[str, list[tuple[str, list[str]]]] = {
    "activity_messages": [("uq_activity_messages_channel_ts", ["channel", "ts"])],
    "activity_reactions": [
        ("uq_activity_reactions_channel_ts_user_id_name", ["channel", "ts", "user_id", "name"])
    ],
    "ci_authors": [("uq_ci_authors_email", ["email"])],
    "codereds": [
        ("uq_codereds_active_slot", ["active_slot"]),
        ("uq_codereds_channel_id", ["channel_id"]),
    ],
    "incidents": [("uq_incidents_channel_id", ["channel_id"])],
    "standup_away": [
        ("uq_standup_away_user_id_kind_ref_start_date", ["user_id", "kind", "ref", "start_date"])
    ],
    "standups": [("uq_standups_name_key", ["name_key"])],
}


def _sole_workspace() -> tuple[str, str | None] | None:
    rows = (
        op.get_bind()
        .execute(
            sa.text(
                "SELECT DISTINCT enterprise_id, team_id FROM slack_bots "
                "WHERE bot_token IS NOT NULL AND team_id IS NOT NULL"
            )
        )
        .all()
    )
    return (rows[0].team_id, rows[0].enterprise_id) if len(rows) == 1 else None


def upgrade() -> None:
    op.create_table(
        "workspace_departures",
        sa.Column("team_id", sa.String(length=32), nullable=False),
        sa.Column("enterprise_id", sa.String(length=32), nullable=False),
        sa.Column("left_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("team_id", "enterprise_id", name=op.f("pk_workspace_departures")),
    )
    for table in TABLES:
        op.add_column(
            table, sa.Column("team_id", sa.String(length=32), server_default="", nullable=False)
        )
        op.add_column(table, sa.Column("enterprise_id", sa.String(length=32), nullable=True))
        op.create_index(op.f(f"ix_{table}_team_id"), table, ["team_id"], unique=False)
    op.create_table(
        "ci_breakage_posts",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("breakage_id", sa.Integer(), nullable=False),
        sa.Column("team_id", sa.String(length=32), nullable=False),
        sa.Column("channel", sa.String(length=32), nullable=False),
        sa.ForeignKeyConstraint(
            ["breakage_id"],
            ["ci_breakages.id"],
            name=op.f("fk_ci_breakage_posts_breakage_id_ci_breakages"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ci_breakage_posts")),
        sa.UniqueConstraint(
            "breakage_id", "team_id", name=op.f("uq_ci_breakage_posts_breakage_id_team_id")
        ),
    )
    op.create_index(op.f("ix_ci_breakage_posts_breakage_id"), "ci_breakage_posts", ["breakage_id"])
    op.create_table(
        "known_workspaces",
        sa.Column("team_id", sa.String(length=32), nullable=False),
        sa.Column("enterprise_id", sa.String(length=32), nullable=True),
        sa.Column("first_seen", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("team_id", name=op.f("pk_known_workspaces")),
    )
    # The workspaces served so far: the installed ones (OAuth mode).
    op.get_bind().execute(
        sa.text(
            "INSERT INTO known_workspaces (team_id, enterprise_id, first_seen) "
            "SELECT team_id, MIN(enterprise_id), MIN(installed_at) FROM slack_bots "
            "WHERE team_id IS NOT NULL GROUP BY team_id"
        )
    )
    op.create_table(
        "codered_spans",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("codered_id", sa.Integer(), nullable=False),
        sa.Column("team_id", sa.String(length=32), nullable=False),
        sa.ForeignKeyConstraint(
            ["codered_id"], ["codereds.id"], name=op.f("fk_codered_spans_codered_id_codereds")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_codered_spans")),
        sa.UniqueConstraint(
            "codered_id", "team_id", name=op.f("uq_codered_spans_codered_id_team_id")
        ),
    )
    op.create_index(op.f("ix_codered_spans_codered_id"), "codered_spans", ["codered_id"])
    # Every breakage so far was posted in its one route's channel (its card keeps its id).
    op.get_bind().execute(
        sa.text(
            "INSERT INTO ci_breakage_posts (breakage_id, team_id, channel) "
            "SELECT id, '', channel FROM ci_breakages"
        )
    )
    sole = _sole_workspace()
    if sole is not None:
        for table in TABLES:
            op.get_bind().execute(
                sa.text(f"UPDATE {table} SET team_id = :team, enterprise_id = :enterprise"),
                {"team": sole[0], "enterprise": sole[1]},
            )
    for table, keys in UNIQUE_KEYS.items():
        with op.batch_alter_table(table) as batch:
            for name, columns in keys:
                batch.drop_constraint(name, type_="unique")
                new_name = f"uq_{table}_team_id_{'_'.join(columns)}"
                batch.create_unique_constraint(new_name, ["team_id", *columns])


def downgrade() -> None:
    for table, keys in UNIQUE_KEYS.items():
        with op.batch_alter_table(table) as batch:
            for name, columns in keys:
                batch.drop_constraint(f"uq_{table}_team_id_{'_'.join(columns)}", type_="unique")
                batch.create_unique_constraint(name, columns)
    for table in TABLES:
        op.drop_index(op.f(f"ix_{table}_team_id"), table_name=table)
        with op.batch_alter_table(table) as batch:
            batch.drop_column("enterprise_id")
            batch.drop_column("team_id")
    op.drop_table("workspace_departures")
    op.drop_table("known_workspaces")
    op.drop_index(op.f("ix_ci_breakage_posts_breakage_id"), table_name="ci_breakage_posts")
    op.drop_table("ci_breakage_posts")
    op.drop_index(op.f("ix_codered_spans_codered_id"), table_name="codered_spans")
    op.drop_table("codered_spans")
