"""Revision 0002 (variants, snippet runs, instrument views, the class's tallies): up, down and up, on both backends."""

from __future__ import annotations

from alembic import command
from sqlalchemy import inspect, select, text

from app.database import make_engine
from app.schema import alembic_config, upgrade
from app.storage import ProgressStore, exercise_learners, wrong_answer_counts

MADE_AT_0001 = [
    ("l1", "e1", "14 GB", "incorrect", 1.0),
    ("l1", "e1", "112 GB", "correct", 2.0),
    ("l2", "e1", "14 gb", "incorrect", 3.0),
]


def test_0002_fills_the_tallies_from_old_attempts_and_downgrades(empty_database_url: str) -> None:
    engine = make_engine(empty_database_url)
    try:
        upgrade(engine, "0001")
        with engine.begin() as connection:
            for learner, exercise, answer, verdict, at in MADE_AT_0001:
                connection.execute(
                    text(
                        "INSERT INTO attempts (learner_id, exercise_id, answer, verdict, created_at) "
                        "VALUES (:l, :e, :a, :v, :t)"
                    ),
                    {"l": learner, "e": exercise, "a": answer, "v": verdict, "t": at},
                )
            connection.execute(
                text("INSERT INTO solution_reveals (learner_id, exercise_id, created_at) VALUES ('l2', 'e1', 4.0)")
            )
        upgrade(engine, "0002")
        assert {"snippet_runs", "instrument_views", "exercise_learners", "wrong_answer_counts"} <= set(
            inspect(engine).get_table_names()
        )
        with engine.connect() as connection:
            assert connection.execute(text("SELECT answer, variant FROM attempts ORDER BY id")).all()[0] == (
                "14 GB",
                None,
            )
            tallies = connection.execute(
                select(
                    exercise_learners.c.learner_id,
                    exercise_learners.c.attempts,
                    exercise_learners.c.first_correct,
                    exercise_learners.c.attempts_to_solve,
                    exercise_learners.c.revealed_before_solved,
                ).order_by(exercise_learners.c.learner_id)
            ).all()
            assert [tuple(t) for t in tallies] == [("l1", 2, 0, 2, 0), ("l2", 1, 0, None, 1)]
            wrong = connection.execute(select(wrong_answer_counts.c.answer, wrong_answer_counts.c.count)).all()
            assert [tuple(w) for w in wrong] == [("14 gb", 2)]
        command.downgrade(alembic_config(engine), "0001")
        tables = set(inspect(engine).get_table_names())
        assert "snippet_runs" not in tables and "exercise_learners" not in tables
        assert "variant" not in {c["name"] for c in inspect(engine).get_columns("attempts")}
        upgrade(engine)
    finally:
        engine.dispose()
    store = ProgressStore(empty_database_url)
    try:
        store.record_attempt("l3", "e1", "8", "correct", variant="signed-id")
        store.record_snippet_run("l3", "s1", "ok", "print(1)")
        store.record_instrument_view("l3", "lora-counter", "lora-counter.r=16")
        assert store.records("l3", ["e1"])["e1"].last.variant == "signed-id"
        assert store.last_snippet_code("l3", ["s1"]) == {"s1": "print(1)"}
    finally:
        store.close()
