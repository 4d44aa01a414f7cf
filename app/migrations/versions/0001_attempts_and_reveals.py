"""attempts and solution reveals: the schema before migrations existed

Revision ID: 0001
Revises:
Create Date: 2026-12-02
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "attempts",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("learner_id", sa.String(64), nullable=False),
        sa.Column("exercise_id", sa.String(128), nullable=False),
        sa.Column("answer", sa.String(200), nullable=False),
        sa.Column("verdict", sa.String(16), nullable=False),
        sa.Column("created_at", sa.Float(), nullable=False),
    )
    op.create_index("ix_attempts_learner_exercise", "attempts", ["learner_id", "exercise_id", "id"])
    op.create_table(
        "solution_reveals",
        sa.Column("learner_id", sa.String(64), primary_key=True),
        sa.Column("exercise_id", sa.String(128), primary_key=True),
        sa.Column("created_at", sa.Float(), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("solution_reveals")
    op.drop_index("ix_attempts_learner_exercise", table_name="attempts")
    op.drop_table("attempts")
