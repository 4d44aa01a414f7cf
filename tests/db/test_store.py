"""The progress store itself, on the embedded SQLite and a real PostgreSQL."""

from __future__ import annotations

import threading

from app.database import make_engine
from app.schema import upgrade
from app.storage import ProgressStore


def migrated_store(url: str) -> ProgressStore:
    engine = make_engine(url)
    upgrade(engine)
    engine.dispose()
    return ProgressStore(url)


def test_attempts_records_reveals_and_reset(empty_database_url: str) -> None:
    store = migrated_store(empty_database_url)
    try:
        store.record_attempt("learner-a", "ex-1", "14", "incorrect")
        store.record_attempt("learner-a", "ex-1", "16", "correct")
        store.record_attempt("learner-a", "ex-1", "17", "incorrect")
        store.record_attempt("learner-b", "ex-1", "16", "correct")
        store.record_reveal("learner-a", "ex-2")
        store.record_reveal("learner-a", "ex-2")  # twice is once
        records = store.records("learner-a", ["ex-1", "ex-2", "ex-3"])
        assert set(records) == {"ex-1"}
        assert records["ex-1"].attempts == 3 and records["ex-1"].solved
        assert records["ex-1"].last.answer == "17" and records["ex-1"].last.verdict == "incorrect"
        assert store.attempt_count() == 4 and store.attempt_count("learner-a") == 3
        assert store.reset("learner-a") == 3
        assert store.records("learner-a", ["ex-1"]) == {} and store.attempt_count("learner-b") == 1
        assert store.healthy()
    finally:
        store.close()


def test_concurrent_writers_lose_nothing(empty_database_url: str) -> None:
    store = migrated_store(empty_database_url)
    try:
        def write(learner: str) -> None:
            for i in range(25):
                store.record_attempt(learner, "ex-1", str(i), "incorrect")

        threads = [threading.Thread(target=write, args=(f"learner-{n}",)) for n in range(8)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert store.attempt_count() == 200
        assert all(store.records(f"learner-{n}", ["ex-1"])["ex-1"].attempts == 25 for n in range(8))
    finally:
        store.close()
