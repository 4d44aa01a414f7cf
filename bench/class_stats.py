"""The instructor's stats over 100,000 stored attempts: the SQL aggregates against loading every row.

    .venv/bin/python bench/class_stats.py                      # SQLite in a temporary file
    .venv/bin/python bench/class_stats.py --attempts 20000 --repeats 5
    .venv/bin/python bench/class_stats.py --database-url postgresql://user@127.0.0.1/db   # an empty database

Seeds a database at the current schema (Alembic head) with a class: `--attempts` attempts
by `--learners` learners over the five exercises of Chapter 06 (right, wrong and
anticipated answers, some in practice variants), a reveal for one learner in eight,
snippet runs and instrument views. Then, interleaved, times `class_stats` (what
/api/instructor/stats counts) against the baseline of reading every attempt into Python
(what the aggregates avoid), and prints medians and the ratio. The target is a median
under 200 ms for `class_stats` at 100,000 attempts.
"""

from __future__ import annotations

import argparse
import random
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import Engine, select, update

from app.class_stats import class_stats
from app.schema import upgrade
from app.storage import ProgressStore, attempts, exercise_learners, instrument_views, reveals, snippet_runs
from bench.stats import interleaved, table

EXERCISES = {
    "full-ft-memory": ("112 GB", ["14", "28", "56", "104.3", "120", "1.12"]),
    "lora-adapter-params": ("65536", ["32768", "16777216", "64", "65000"]),
    "lora-trainable-percent": ("0.39", ["0.195", "39", "0.0039"]),
    "nf4-levels-count": ("16", ["8", "15", "4"]),
    "qlora-70b-weights": ("35 GB", ["140", "280", "70", "32.6"]),
}
SNIPPETS = ["lora-algebra", "rank-capacity"]
INSTRUMENTS = {
    "lora-counter": ["lora-counter.r=8", "lora-counter.r=16", "lora-counter.r=64"],
    "vram-fit": ["vram-fit.method=full", "vram-fit.method=qlora"],
}


def seed(store: ProgressStore, count: int, learners: int, rng: random.Random) -> None:
    """Attempts as `record_attempt` stores them (each one also updates the tallies), in one transaction."""
    engine = store.engine
    rows, reveal_rows, runs, views = [], [], [], []
    now = 1_700_000_000.0
    for i in range(count):
        learner = f"learner-{rng.randrange(learners):05d}"
        exercise = rng.choice(list(EXERCISES))
        right, wrong = EXERCISES[exercise]
        correct = rng.random() < 0.45
        variant = f"variant-{rng.randrange(40)}" if rng.random() < 0.2 else None
        rows.append(
            {
                "learner_id": learner,
                "exercise_id": exercise,
                "answer": right if correct else rng.choice(wrong),
                "verdict": "correct" if correct else "incorrect",
                "variant": variant,
                "created_at": now + i,
            }
        )
    for n in range(learners):
        if n % 8 == 0:
            reveal_rows.append(
                {
                    "learner_id": f"learner-{n:05d}",
                    "exercise_id": rng.choice(list(EXERCISES)),
                    "created_at": now + rng.randrange(count),
                }
            )
    for i in range(count // 10):
        runs.append(
            {
                "learner_id": f"learner-{rng.randrange(learners):05d}",
                "snippet_id": rng.choice(SNIPPETS),
                "status": "ok" if rng.random() < 0.8 else "error",
                "code": None,
                "created_at": now + i,
            }
        )
        instrument = rng.choice(list(INSTRUMENTS))
        views.append(
            {
                "learner_id": None,
                "instrument_id": instrument,
                "settings": rng.choice(INSTRUMENTS[instrument]),
                "created_at": now + i,
            }
        )
    with engine.begin() as connection:
        for start in range(0, len(rows), 5000):
            connection.execute(attempts.insert(), rows[start : start + 5000])
        for row in rows:
            store._tally_attempt(  # what record_attempt does in the same transaction as the insert
                connection,
                str(row["learner_id"]),
                str(row["exercise_id"]),
                str(row["answer"]),
                str(row["verdict"]),
                row["variant"],  # type: ignore[arg-type]
                float(row["created_at"]),  # type: ignore[arg-type]
            )
        connection.execute(reveals.insert(), reveal_rows)
        for reveal in reveal_rows:  # what record_reveal does
            connection.execute(
                update(exercise_learners)
                .where(
                    exercise_learners.c.exercise_id == reveal["exercise_id"],
                    exercise_learners.c.learner_id == reveal["learner_id"],
                    exercise_learners.c.solved_at.is_(None),
                )
                .values(revealed_before_solved=1)
            )
        connection.execute(snippet_runs.insert(), runs)
        connection.execute(instrument_views.insert(), views)


def load_everything(engine: Engine) -> int:
    """The baseline: every attempt read into Python (what counting per learner in Python would need)."""
    with engine.connect() as connection:
        rows = connection.execute(
            select(
                attempts.c.learner_id,
                attempts.c.exercise_id,
                attempts.c.answer,
                attempts.c.verdict,
                attempts.c.variant,
                attempts.c.id,
            )
        ).all()
    return len(rows)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--attempts", type=int, default=100_000)
    parser.add_argument("--learners", type=int, default=2_000)
    parser.add_argument("--repeats", type=int, default=15)
    parser.add_argument("--database-url", help="an empty database to seed (default: SQLite in a temporary file)")
    options = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        url = options.database_url or f"sqlite:///{Path(tmp) / 'bench.sqlite3'}"
        store = ProgressStore(url)
        engine = store.engine
        upgrade(engine)
        started = time.perf_counter()
        seed(store, options.attempts, options.learners, random.Random(16))
        seconds = time.perf_counter() - started
        backend = url.split(":")[0]
        print(f"seeded {options.attempts:,} attempts by {options.learners:,} learners in {seconds:.1f} s ({backend})")
        exercise_ids, instrument_ids = list(EXERCISES), list(INSTRUMENTS)
        calls = {
            "class_stats (SQL aggregates)": lambda: class_stats(engine, exercise_ids, SNIPPETS, instrument_ids),
            "baseline: read every attempt": lambda: load_everything(engine),
        }
        samples = interleaved(calls, options.repeats, warmup=2)
        print(f"\n{options.repeats} interleaved calls each\n")
        print(table(list(samples.items()), "baseline: read every attempt"))
        median = sorted(samples["class_stats (SQL aggregates)"])[len(samples["class_stats (SQL aggregates)"]) // 2]
        verdict = "under" if median < 200 else "OVER"
        print(f"\nclass_stats median {median:.1f} ms at {options.attempts:,} attempts: {verdict} the 200 ms target")
        store.close()


if __name__ == "__main__":
    main()
