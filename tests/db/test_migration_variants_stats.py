"""Revision 0002 (variants per attempt, snippet runs, instrument views): up, down and up again, on both backends."""

from __future__ import annotations

from sqlalchemy import inspect, text

from app.database import make_engine
from app.schema import upgrade
from app.storage import ProgressStore


def test_0002_keeps_old_attempts_as_the_chapters_numbers_and_downgrades(empty_database_url: str) -> None:
    engine = make_engine(empty_database_url)
    try:
        upgrade(engine, "0001")
        with engine.begin() as connection:
            connection.execute(
                text(
                    "INSERT INTO attempts (learner_id, exercise_id, answer, verdict, created_at) "
                    "VALUES ('l1', 'e1', '112 GB', 'correct', 1.0)"
                )
            )
        upgrade(engine, "0002")
        tables = set(inspect(engine).get_table_names())
        assert {"snippet_runs", "instrument_views"} <= tables
        with engine.connect() as connection:
            assert connection.execute(text("SELECT answer, variant FROM attempts")).all() == [("112 GB", None)]
        from alembic import command

        from app.schema import alembic_config

        command.downgrade(alembic_config(engine), "0001")
        assert "snippet_runs" not in set(inspect(engine).get_table_names())
        assert "variant" not in {c["name"] for c in inspect(engine).get_columns("attempts")}
        upgrade(engine)
    finally:
        engine.dispose()
    store = ProgressStore(empty_database_url)
    try:
        store.record_attempt("l2", "e1", "8", "correct", variant="signed-id")
        store.record_snippet_run("l2", "s1", "ok", "print(1)")
        store.record_instrument_view("l2", "lora-counter", "lora-counter.r=16")
        assert store.records("l2", ["e1"])["e1"].last.variant == "signed-id"
        assert store.last_snippet_code("l2", ["s1"]) == {"s1": "print(1)"}
    finally:
        store.close()
