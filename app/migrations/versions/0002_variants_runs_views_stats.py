"""practice variants per attempt, snippet runs, instrument views, and indexes for the class stats

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-02
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Nullable: every attempt made before is for the chapter's own numbers.
    op.add_column("attempts", sa.Column("variant", sa.String(512), nullable=True))
    # The instructor's per-exercise aggregates walk attempts by exercise, then learner.
    op.create_index("ix_attempts_exercise_learner", "attempts", ["exercise_id", "learner_id", "id", "verdict"])
    op.create_table(
        "snippet_runs",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("learner_id", sa.String(64), nullable=False),
        sa.Column("snippet_id", sa.String(128), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("code", sa.Text(), nullable=True),
        sa.Column("created_at", sa.Float(), nullable=False),
    )
    op.create_index("ix_snippet_runs_snippet_status", "snippet_runs", ["snippet_id", "status"])
    op.create_index("ix_snippet_runs_learner_snippet", "snippet_runs", ["learner_id", "snippet_id", "id"])
    op.create_table(
        "instrument_views",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("learner_id", sa.String(64), nullable=True),
        sa.Column("instrument_id", sa.String(128), nullable=False),
        sa.Column("settings", sa.String(512), nullable=False),
        sa.Column("created_at", sa.Float(), nullable=False),
    )
    op.create_index("ix_instrument_views_instrument_settings", "instrument_views", ["instrument_id", "settings"])


def downgrade() -> None:
    op.drop_index("ix_instrument_views_instrument_settings", table_name="instrument_views")
    op.drop_table("instrument_views")
    op.drop_index("ix_snippet_runs_learner_snippet", table_name="snippet_runs")
    op.drop_index("ix_snippet_runs_snippet_status", table_name="snippet_runs")
    op.drop_table("snippet_runs")
    op.drop_index("ix_attempts_exercise_learner", table_name="attempts")
    with op.batch_alter_table("attempts") as batch:  # SQLite drops a column by rebuilding the table
        batch.drop_column("variant")
