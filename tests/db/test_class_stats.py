"""The instructor's stats against a fixture counted by hand, on SQLite and PostgreSQL."""

from __future__ import annotations

from app.class_stats import SettingCount, SnippetStats, WrongAnswer, class_stats, median_from_histogram
from app.schema import upgrade
from app.storage import ProgressStore

# In order: (learner, exercise, answer, verdict, variant), or ("reveal", learner, exercise)
EVENTS: list[tuple[str, ...]] = [
    ("L1", "e1", "14", "incorrect", ""),
    ("L1", "e1", "112 GB", "correct", ""),  # solved on the 2nd try
    ("L2", "e1", "112", "correct", ""),  # first try
    ("L3", "e1", "14", "incorrect", ""),
    ("L3", "e1", "14 ", "incorrect", ""),  # the same wrong answer, typed with a space
    ("reveal", "L3", "e1"),  # before solving
    ("L3", "e1", "112", "correct", ""),  # 3rd try
    ("L4", "e1", "56", "incorrect", ""),
    ("reveal", "L4", "e1"),  # never solved
    ("L5", "e1", "99", "incorrect", "variant-a"),  # a variant's wrong answer: not the chapter's numbers
    ("L5", "e1", "24", "correct", "variant-a"),  # 2nd try, in a variant
    ("reveal", "L2", "e1"),  # after solving: not counted
    ("L6", "e1", "7", "incorrect", ""),  # reset below: gone from every count
    ("reveal", "L6", "e1"),
]
RUNS = [("L1", "s1", "ok"), ("L1", "s1", "ok"), ("L2", "s1", "error")]
VIEWS = [
    ("L1", "lora", "lora.r=16"),
    ("L2", "lora", "lora.r=16"),
    (None, "lora", "lora.r=16"),
    ("L1", "lora", "lora.r=8"),
]


def test_median_from_a_histogram() -> None:
    assert median_from_histogram({}) is None
    assert median_from_histogram({1: 1, 2: 2, 3: 1}) == 2
    assert median_from_histogram({1: 1, 4: 1}) == 2.5
    assert median_from_histogram({5: 3}) == 5


def test_stats_match_the_hand_counted_fixture(empty_database_url: str) -> None:
    store = ProgressStore(empty_database_url)
    try:
        upgrade(store.engine)
        for event in EVENTS:
            if event[0] == "reveal":
                store.record_reveal(event[1], event[2])
            else:
                learner, exercise, answer, verdict, variant = event
                store.record_attempt(learner, exercise, answer, verdict, variant or None)
        store.reset("L6")
        for learner, snippet, status in RUNS:
            store.record_snippet_run(learner, snippet, status, None)
        for viewer, instrument, settings in VIEWS:
            store.record_instrument_view(viewer, instrument, settings)
        stats = class_stats(store.engine, ["e1", "e2"], ["s1", "s2"], ["lora", "vram"])
    finally:
        store.close()
    e1, e2 = stats.exercises
    assert (e1.id, e1.learners, e1.attempts, e1.solved, e1.first_try_correct) == ("e1", 5, 9, 4, 1)
    assert e1.median_attempts_to_solve == 2.0  # tries 2, 1, 3, 2
    assert e1.revealed_before_solved == 2
    assert e1.wrong_answers == [WrongAnswer("14", 3), WrongAnswer("56", 1)]
    assert (e2.learners, e2.attempts, e2.solved, e2.median_attempts_to_solve, e2.wrong_answers) == (0, 0, 0, None, [])
    assert stats.snippets == [SnippetStats("s1", 3, 1, 2), SnippetStats("s2", 0, 0, 0)]
    lora, vram = stats.instruments
    assert (lora.views, lora.top_settings) == (4, [SettingCount("lora.r=16", 3), SettingCount("lora.r=8", 1)])
    assert (vram.views, vram.top_settings) == (0, [])
