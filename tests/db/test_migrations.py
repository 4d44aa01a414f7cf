"""Alembic migrations on both backends: data made at the first revision survives every
later one, `textbook db upgrade|current` work from the shell, a server whose schema is
behind refuses to start (and names the command), the embedded SQLite upgrades itself."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text

from app.database import make_engine
from app.main import create_app
from app.schema import BASE_REVISION, SchemaBehind, head_revision, schema_state, upgrade
from tests.conftest import make_settings

ROOT = Path(__file__).resolve().parents[2]


def textbook(*args: str, database_url: str, data_dir: Path) -> subprocess.CompletedProcess[str]:
    env = {
        **os.environ,
        "TEXTBOOK_DATABASE_URL": database_url,
        "TEXTBOOK_DATA_DIR": str(data_dir),
        "TEXTBOOK_SECRET_KEY": "shared-test-key",
    }
    return subprocess.run(
        [sys.executable, "-m", "app.cli", *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120
    )


def test_rows_made_at_the_first_revision_survive_the_upgrade_to_head(empty_database_url: str) -> None:
    engine = make_engine(empty_database_url)
    try:
        assert upgrade(engine, BASE_REVISION).current == BASE_REVISION
        rows = [
            (
                f"learner-{i % 7}",
                f"exercise-{i % 5}",
                f"answer {i}",
                "correct" if i % 3 == 0 else "incorrect",
                1000.0 + i,
            )
            for i in range(60)
        ]
        with engine.begin() as connection:
            for learner, exercise, answer, verdict, created in rows:
                connection.execute(
                    text(
                        "INSERT INTO attempts (learner_id, exercise_id, answer, verdict, created_at) "
                        "VALUES (:l, :e, :a, :v, :c)"
                    ),
                    {"l": learner, "e": exercise, "a": answer, "v": verdict, "c": created},
                )
            connection.execute(
                text(
                    "INSERT INTO solution_reveals (learner_id, exercise_id, created_at) "
                    "VALUES ('learner-1', 'exercise-2', 5.0)"
                )
            )
        state = upgrade(engine)
        assert state.is_current and state.current == head_revision()
        with engine.connect() as connection:
            found = connection.execute(
                text("SELECT learner_id, exercise_id, answer, verdict, created_at FROM attempts ORDER BY id")
            ).all()
            reveals = connection.execute(text("SELECT learner_id, exercise_id FROM solution_reveals")).all()
        assert [tuple(row) for row in found] == rows
        assert [tuple(row) for row in reveals] == [("learner-1", "exercise-2")]
    finally:
        engine.dispose()


def test_db_current_and_upgrade_from_the_shell(empty_database_url: str, tmp_path: Path) -> None:
    before = textbook("db", "current", database_url=empty_database_url, data_dir=tmp_path)
    assert before.returncode == 1 and "run `textbook db upgrade`" in before.stdout
    upgraded = textbook("db", "upgrade", database_url=empty_database_url, data_dir=tmp_path)
    assert upgraded.returncode == 0, upgraded.stderr
    assert f"schema at {head_revision()}" in upgraded.stdout
    after = textbook("db", "current", database_url=empty_database_url, data_dir=tmp_path)
    assert after.returncode == 0 and "up to date" in after.stdout


def test_a_server_whose_schema_is_behind_refuses_to_start_and_names_the_command(
    empty_database_url: str, tmp_path: Path
) -> None:
    settings = make_settings(tmp_path, database_url=empty_database_url)
    with pytest.raises(SchemaBehind, match="textbook db upgrade"):
        create_app(settings)
    served = textbook(
        "serve", "--port", "1", database_url=empty_database_url, data_dir=tmp_path
    )  # refuses before binding
    assert served.returncode == 2
    assert "run `textbook db upgrade`" in served.stderr and "Traceback" not in served.stderr


def test_a_server_needs_the_shared_secret_key_when_the_database_is_shared(tmp_path: Path) -> None:
    served = subprocess.run(
        [sys.executable, "-m", "app.cli", "serve", "--port", "1"],
        cwd=ROOT,
        env={
            **os.environ,
            "TEXTBOOK_DATABASE_URL": f"sqlite:///{tmp_path / 'x.sqlite3'}",
            "TEXTBOOK_DATA_DIR": str(tmp_path),
        },
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert served.returncode == 2 and "TEXTBOOK_SECRET_KEY" in served.stderr


def test_the_embedded_sqlite_upgrades_itself_and_adopts_a_database_made_before_migrations(tmp_path: Path) -> None:
    # The schema as create_all made it before there were migrations, with a learner's answer in it.
    database = tmp_path / "textbook.sqlite3"
    with sqlite3.connect(database) as db:
        db.executescript(
            """
            CREATE TABLE attempts (id INTEGER PRIMARY KEY AUTOINCREMENT, learner_id VARCHAR(64) NOT NULL,
                exercise_id VARCHAR(128) NOT NULL, answer VARCHAR(200) NOT NULL, verdict VARCHAR(16) NOT NULL,
                created_at FLOAT NOT NULL);
            CREATE INDEX ix_attempts_learner_exercise ON attempts (learner_id, exercise_id, id);
            CREATE TABLE solution_reveals (learner_id VARCHAR(64) NOT NULL, exercise_id VARCHAR(128) NOT NULL,
                created_at FLOAT NOT NULL, PRIMARY KEY (learner_id, exercise_id));
            INSERT INTO attempts (learner_id, exercise_id, answer, verdict, created_at)
                VALUES ('old-learner-id', 'nf4-levels-count', '16', 'correct', 1.0);
            """
        )
    app = create_app(make_settings(tmp_path, runner_workers=1))  # the default database: no URL set
    state = schema_state(app.state.textbook.store.engine)
    assert state.is_current
    assert app.state.textbook.store.attempt_count("old-learner-id") == 1
    with TestClient(app) as client:
        assert client.get("/readyz").status_code == 200
