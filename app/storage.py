"""The progress store: every attempt a learner makes, one transaction each.

SQLite by default (WAL mode, so readers never block the writer) or PostgreSQL (psycopg 3,
a pooled connection per query); the engine comes from `app.database`, the tables below
are created and changed only by the Alembic revisions in `app/migrations/versions/`
(see `app.schema`). Pure persistence: no HTTP, no grading.

A database that fails (locked past the busy timeout, disk full, a damaged file, a
server gone) raises `StoreUnavailable` with a sentence for the student: what was not
done, and that nothing half-done was kept (each write is one transaction).
"""

from __future__ import annotations

import logging
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from sqlalchemy import (
    Column,
    Connection,
    Float,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    delete,
    func,
    select,
    update,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import SQLAlchemyError

from app.database import PoolSettings, is_sqlite, make_engine
from app.errors import Unavailable
from app.exercises.answers import MAX_LENGTH as MAX_ANSWER_CHARS

log = logging.getLogger(__name__)

# The tables as the code reads them. A change here needs a new revision in
# app/migrations/versions/ (ARCHITECTURE.md, "Changing the schema").
metadata = MetaData()

VARIANT_ID_MAX_CHARS = 512
INSTRUMENT_SETTINGS_MAX_CHARS = 512

attempts = Table(
    "attempts",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("learner_id", String(64), nullable=False),
    Column("exercise_id", String(128), nullable=False),
    Column("answer", String(MAX_ANSWER_CHARS), nullable=False),
    Column("verdict", String(16), nullable=False),
    Column("created_at", Float, nullable=False),
    Column("variant", String(VARIANT_ID_MAX_CHARS), nullable=True),  # None: the chapter's own numbers
    Index("ix_attempts_learner_exercise", "learner_id", "exercise_id", "id"),
)

# One row per snippet run from a chapter page (for the class's stats, and "my version"
# of the notebook: `code` is kept only when the learner edited the snippet).
snippet_runs = Table(
    "snippet_runs",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("learner_id", String(64), nullable=False),
    Column("snippet_id", String(128), nullable=False),
    Column("status", String(16), nullable=False),
    Column("code", Text, nullable=True),
    Column("created_at", Float, nullable=False),
    Index("ix_snippet_runs_snippet_status", "snippet_id", "status"),
    Index("ix_snippet_runs_learner_snippet", "learner_id", "snippet_id", "id"),
)

# One row per instrument state a learner looked at (a slider moved, a shared link opened).
instrument_views = Table(
    "instrument_views",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("learner_id", String(64), nullable=True),
    Column("instrument_id", String(128), nullable=False),
    Column("settings", String(INSTRUMENT_SETTINGS_MAX_CHARS), nullable=False),
    Column("created_at", Float, nullable=False),
    Index("ix_instrument_views_instrument_settings", "instrument_id", "settings"),
)

# Running tallies for the class's stats, updated in the same transaction as each attempt
# (upserts, shared by SQLite and PostgreSQL), so the stats aggregate a row per learner and
# exercise instead of every attempt. See `app.class_stats`.
exercise_learners = Table(
    "exercise_learners",
    metadata,
    Column("exercise_id", String(128), primary_key=True),
    Column("learner_id", String(64), primary_key=True),
    Column("attempts", Integer, nullable=False),
    Column("first_correct", Integer, nullable=False),  # 1 when the first attempt was correct
    Column("attempts_to_solve", Integer, nullable=True),  # attempts up to the first correct one; None: unsolved
    Column("solved_at", Float, nullable=True),
    Column("revealed_before_solved", Integer, nullable=False),  # 1 when the solution was opened first
)

wrong_answer_counts = Table(
    "wrong_answer_counts",
    metadata,
    Column("exercise_id", String(128), primary_key=True),
    Column("answer", String(MAX_ANSWER_CHARS), primary_key=True),  # trimmed, lower-cased
    Column("count", Integer, nullable=False),
)

reveals = Table(
    "solution_reveals",
    metadata,
    Column("learner_id", String(64), primary_key=True),
    Column("exercise_id", String(128), primary_key=True),
    Column("created_at", Float, nullable=False),
)


@dataclass(frozen=True)
class Attempt:
    exercise_id: str
    answer: str
    verdict: str
    created_at: float
    variant: str | None = None  # the practice variant's id; None: the chapter's own numbers


@dataclass(frozen=True)
class ExerciseRecord:
    """What a learner has done on one exercise: the last attempt and whether it was ever solved."""

    last: Attempt
    solved: bool
    revealed: bool
    attempts: int
    solved_canonical: bool = False  # solved with the chapter's own numbers
    solved_variants: int = 0  # correct answers to practice variants


def normalized_answer(answer: str) -> str:
    """A wrong answer as the stats group it: "14 GB", " 14 gb" are one answer."""
    return " ".join(answer.split()).lower()


class StoreUnavailable(Unavailable):
    """The progress database refused a read or a write."""


@contextmanager
def _unavailable_as(message: str) -> Iterator[None]:
    try:
        yield
    except SQLAlchemyError as error:
        log.error("progress store failed: %s", getattr(error, "orig", None) or error)
        raise StoreUnavailable(message) from error


UNAVAILABLE = "the progress database is not available right now"


class ProgressStore:
    def __init__(self, database_url: str, *, pool: PoolSettings = PoolSettings()) -> None:
        self.engine = make_engine(database_url, pool)
        self.is_sqlite = is_sqlite(self.engine.url)

    def record_attempt(
        self, learner_id: str, exercise_id: str, answer: str, verdict: str, variant: str | None = None
    ) -> Attempt:
        attempt = Attempt(
            exercise_id=exercise_id, answer=answer, verdict=verdict, created_at=time.time(), variant=variant
        )
        with (
            _unavailable_as(
                f"Your answer could not be saved: {UNAVAILABLE}, and nothing was recorded. "
                "Please try again in a moment."
            ),
            self.engine.begin() as connection,
        ):
            self._tally_attempt(connection, learner_id, exercise_id, answer, verdict, variant, attempt.created_at)
            connection.execute(
                attempts.insert().values(
                    learner_id=learner_id,
                    exercise_id=exercise_id,
                    answer=answer,
                    verdict=verdict,
                    created_at=attempt.created_at,
                    variant=variant,
                )
            )
        return attempt

    def record_reveal(self, learner_id: str, exercise_id: str) -> None:
        with (
            _unavailable_as(f"The worked solution could not be opened: {UNAVAILABLE}. Please try again in a moment."),
            self.engine.begin() as connection,
        ):
            exists = connection.execute(
                select(reveals.c.learner_id).where(
                    reveals.c.learner_id == learner_id, reveals.c.exercise_id == exercise_id
                )
            ).first()
            if exists is None:
                connection.execute(
                    reveals.insert().values(learner_id=learner_id, exercise_id=exercise_id, created_at=time.time())
                )
                connection.execute(
                    update(exercise_learners)
                    .where(
                        exercise_learners.c.exercise_id == exercise_id,
                        exercise_learners.c.learner_id == learner_id,
                        exercise_learners.c.solved_at.is_(None),
                    )
                    .values(revealed_before_solved=1)
                )

    def records(self, learner_id: str, exercise_ids: list[str]) -> dict[str, ExerciseRecord]:
        """Per exercise the learner has attempted: last attempt, ever solved, revealed, count."""
        if not exercise_ids:
            return {}
        with (
            _unavailable_as(f"Your saved answers could not be read: {UNAVAILABLE}."),
            self.engine.connect() as connection,
        ):
            summary = connection.execute(
                select(
                    attempts.c.exercise_id,
                    func.max(attempts.c.id),
                    func.count(),
                    func.sum((attempts.c.verdict == "correct").cast(Integer)),
                    func.sum(((attempts.c.verdict == "correct") & attempts.c.variant.is_(None)).cast(Integer)),
                )
                .where(attempts.c.learner_id == learner_id, attempts.c.exercise_id.in_(exercise_ids))
                .group_by(attempts.c.exercise_id)
            ).all()
            last_ids = [row[1] for row in summary]
            last_rows = (
                {row.id: row for row in connection.execute(select(attempts).where(attempts.c.id.in_(last_ids))).all()}
                if last_ids
                else {}
            )
            revealed = {
                row[0]
                for row in connection.execute(
                    select(reveals.c.exercise_id).where(
                        reveals.c.learner_id == learner_id, reveals.c.exercise_id.in_(exercise_ids)
                    )
                ).all()
            }
        records: dict[str, ExerciseRecord] = {}
        for exercise_id, last_id, count, solved, solved_canonical in summary:
            row = last_rows[last_id]
            records[exercise_id] = ExerciseRecord(
                last=Attempt(
                    exercise_id=row.exercise_id,
                    answer=row.answer,
                    verdict=row.verdict,
                    created_at=row.created_at,
                    variant=row.variant,
                ),
                solved=bool(solved),
                revealed=exercise_id in revealed,
                attempts=int(count),
                solved_canonical=bool(solved_canonical),
                solved_variants=int(solved or 0) - int(solved_canonical or 0),
            )
        return records

    def _upsert(self, table: Table, values: dict[str, object], keys: list[str], changes: dict[str, object]) -> Any:
        dialect = postgresql if self.engine.dialect.name == "postgresql" else sqlite
        statement = dialect.insert(table).values(**values)
        return statement.on_conflict_do_update(index_elements=keys, set_=changes)

    def _tally_attempt(
        self,
        connection: Connection,
        learner_id: str,
        exercise_id: str,
        answer: str,
        verdict: str,
        variant: str | None,
        at: float,
    ) -> None:
        correct = verdict == "correct"
        row = exercise_learners.c
        connection.execute(
            self._upsert(
                exercise_learners,
                {
                    "exercise_id": exercise_id,
                    "learner_id": learner_id,
                    "attempts": 1,
                    "first_correct": int(correct),
                    "attempts_to_solve": 1 if correct else None,
                    "solved_at": at if correct else None,
                    "revealed_before_solved": 0,
                },
                ["exercise_id", "learner_id"],
                {  # every expression reads the row as it was before this attempt
                    "attempts": row.attempts + 1,
                    "attempts_to_solve": func.coalesce(row.attempts_to_solve, row.attempts + 1 if correct else None),
                    "solved_at": func.coalesce(row.solved_at, at if correct else None),
                },
            )
        )
        if not correct and variant is None:
            counts = wrong_answer_counts.c
            connection.execute(
                self._upsert(
                    wrong_answer_counts,
                    {"exercise_id": exercise_id, "answer": normalized_answer(answer), "count": 1},
                    ["exercise_id", "answer"],
                    {"count": counts.count + 1},
                )
            )

    def _untally(self, connection: Connection, learner_id: str) -> None:
        """Take a learner's attempts back out of the tallies (their progress is being reset)."""
        connection.execute(delete(exercise_learners).where(exercise_learners.c.learner_id == learner_id))
        mine = connection.execute(
            select(attempts.c.exercise_id, attempts.c.answer).where(
                attempts.c.learner_id == learner_id, attempts.c.verdict != "correct", attempts.c.variant.is_(None)
            )
        ).all()
        for (exercise_id, answer), times in Counter((e, normalized_answer(a)) for e, a in mine).items():
            counts = wrong_answer_counts.c
            connection.execute(
                update(wrong_answer_counts)
                .where(counts.exercise_id == exercise_id, counts.answer == answer)
                .values(count=counts.count - times)
            )
        connection.execute(delete(wrong_answer_counts).where(wrong_answer_counts.c.count <= 0))

    def record_snippet_run(self, learner_id: str, snippet_id: str, status: str, edited_code: str | None) -> None:
        with _unavailable_as(f"The run could not be recorded: {UNAVAILABLE}."), self.engine.begin() as connection:
            connection.execute(
                snippet_runs.insert().values(
                    learner_id=learner_id,
                    snippet_id=snippet_id,
                    status=status,
                    code=edited_code,
                    created_at=time.time(),
                )
            )

    def record_instrument_view(self, learner_id: str | None, instrument_id: str, settings: str) -> None:
        unrecorded = f"The instrument view could not be recorded: {UNAVAILABLE}."
        with _unavailable_as(unrecorded), self.engine.begin() as connection:
            connection.execute(
                instrument_views.insert().values(
                    learner_id=learner_id,
                    instrument_id=instrument_id,
                    settings=settings[:INSTRUMENT_SETTINGS_MAX_CHARS],
                    created_at=time.time(),
                )
            )

    def last_snippet_code(self, learner_id: str, snippet_ids: list[str]) -> dict[str, str]:
        """Per snippet, the code of the learner's last run if it was an edit (their version)."""
        if not snippet_ids:
            return {}
        unread = f"Your edited snippets could not be read: {UNAVAILABLE}."
        with _unavailable_as(unread), self.engine.connect() as connection:
            last = (
                select(func.max(snippet_runs.c.id))
                .where(snippet_runs.c.learner_id == learner_id, snippet_runs.c.snippet_id.in_(snippet_ids))
                .group_by(snippet_runs.c.snippet_id)
            )
            rows = connection.execute(
                select(snippet_runs.c.snippet_id, snippet_runs.c.code).where(snippet_runs.c.id.in_(last))
            ).all()
        return {row.snippet_id: row.code for row in rows if row.code is not None}

    def attempt_count(self, learner_id: str | None = None) -> int:
        query = select(func.count()).select_from(attempts)
        if learner_id is not None:
            query = query.where(attempts.c.learner_id == learner_id)
        with _unavailable_as(f"Attempts could not be counted: {UNAVAILABLE}."), self.engine.connect() as connection:
            return int(connection.execute(query).scalar_one())

    def reset(self, learner_id: str) -> int:
        """Forget everything a learner did; returns how many attempts were removed."""
        with (
            _unavailable_as(
                f"Your progress could not be reset: {UNAVAILABLE}, and nothing was removed. "
                "Please try again in a moment."
            ),
            self.engine.begin() as connection,
        ):
            self._untally(connection, learner_id)
            removed = connection.execute(delete(attempts).where(attempts.c.learner_id == learner_id)).rowcount
            connection.execute(delete(reveals).where(reveals.c.learner_id == learner_id))
            connection.execute(delete(snippet_runs).where(snippet_runs.c.learner_id == learner_id))
            connection.execute(delete(instrument_views).where(instrument_views.c.learner_id == learner_id))
        return int(removed or 0)

    def healthy_connection(self) -> bool:
        """The database answers at all (whatever its schema)."""
        try:
            with self.engine.connect() as connection:
                connection.execute(select(1))
            return True
        except SQLAlchemyError:
            return False

    def healthy(self) -> bool:
        try:
            with self.engine.connect() as connection:
                connection.execute(select(attempts.c.id).limit(1))  # touches the file, not just a connection
            return True
        except SQLAlchemyError:
            return False

    def close(self) -> None:
        self.engine.dispose()
