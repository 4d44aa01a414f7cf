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
    # The class's running tallies (see app/storage.py), filled from the attempts made so far.
    exercise_learners = op.create_table(
        "exercise_learners",
        sa.Column("exercise_id", sa.String(128), primary_key=True),
        sa.Column("learner_id", sa.String(64), primary_key=True),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("first_correct", sa.Integer(), nullable=False),
        sa.Column("attempts_to_solve", sa.Integer(), nullable=True),
        sa.Column("solved_at", sa.Float(), nullable=True),
        sa.Column("revealed_before_solved", sa.Integer(), nullable=False),
    )
    wrong_answer_counts = op.create_table(
        "wrong_answer_counts",
        sa.Column("exercise_id", sa.String(128), primary_key=True),
        sa.Column("answer", sa.String(200), primary_key=True),
        sa.Column("count", sa.Integer(), nullable=False),
    )
    _fill_tallies(exercise_learners, wrong_answer_counts)
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
    op.drop_table("wrong_answer_counts")
    op.drop_table("exercise_learners")
    with op.batch_alter_table("attempts") as batch:  # SQLite drops a column by rebuilding the table
        batch.drop_column("variant")


def _fill_tallies(exercise_learners: sa.Table, wrong_answer_counts: sa.Table) -> None:
    """One pass over the existing attempts, in order (a one-off: new attempts update the tallies)."""
    connection = op.get_bind()
    learners: dict[tuple[str, str], dict[str, object]] = {}
    wrong: dict[tuple[str, str], int] = {}
    rows = connection.execute(
        sa.text("SELECT exercise_id, learner_id, answer, verdict, created_at FROM attempts ORDER BY id")
    )
    for exercise_id, learner_id, answer, verdict, created_at in rows:
        correct = verdict == "correct"
        row = learners.get((exercise_id, learner_id))
        if row is None:
            row = learners[(exercise_id, learner_id)] = {
                "exercise_id": exercise_id,
                "learner_id": learner_id,
                "attempts": 0,
                "first_correct": int(correct),
                "attempts_to_solve": None,
                "solved_at": None,
                "revealed_before_solved": 0,
            }
        row["attempts"] = int(row["attempts"]) + 1  # type: ignore[call-overload]
        if correct and row["solved_at"] is None:
            row["attempts_to_solve"], row["solved_at"] = row["attempts"], created_at
        if not correct:  # every attempt before this revision was for the chapter's own numbers
            key = (exercise_id, " ".join(answer.split()).lower())
            wrong[key] = wrong.get(key, 0) + 1
    for learner_id, exercise_id, created_at in connection.execute(
        sa.text("SELECT learner_id, exercise_id, created_at FROM solution_reveals")
    ):
        row = learners.get((exercise_id, learner_id))
        if row is not None and (row["solved_at"] is None or created_at < row["solved_at"]):
            row["revealed_before_solved"] = 1
    if learners:
        op.bulk_insert(exercise_learners, list(learners.values()))
    if wrong:
        op.bulk_insert(
            wrong_answer_counts, [{"exercise_id": e, "answer": a, "count": n} for (e, a), n in wrong.items()]
        )
