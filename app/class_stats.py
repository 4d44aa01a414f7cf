"""What the class finds hard: aggregate queries over the progress store, for the instructor.

Every figure is counted by the database, from the running tallies each attempt
updates (`exercise_learners`, `wrong_answer_counts` in `app.storage`): a row per
learner and exercise, not per attempt, so 100,000 attempts cost what their learners
cost. GROUP BY over primary keys, a window function for the top-N lists; the same
SQL on SQLite and PostgreSQL. Only the histogram of attempts-to-solve comes back per
exercise, for its median.
Learners stay anonymous: no learner id leaves this module, only counts.

Pure persistence: no HTTP, no grading (the web layer labels wrong answers with the
mistake the grader diagnoses).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field

from sqlalchemy import Engine, Integer, case, distinct, func, select

from app.storage import exercise_learners, instrument_views, snippet_runs, wrong_answer_counts

TOP = 5  # wrong answers per exercise, settings per instrument


@dataclass(frozen=True)
class WrongAnswer:
    answer: str
    count: int


@dataclass
class ExerciseStats:
    id: str
    learners: int = 0
    attempts: int = 0
    solved: int = 0  # learners who answered correctly at least once (any variant)
    first_try_correct: int = 0  # learners whose first attempt was correct
    median_attempts_to_solve: float | None = None  # attempts up to and including the first correct one
    revealed_before_solved: int = 0  # learners who opened the solution before (or without) solving
    wrong_answers: list[WrongAnswer] = field(default_factory=list)  # most common, with the chapter's numbers


@dataclass(frozen=True)
class SnippetStats:
    id: str
    runs: int
    errored: int
    learners: int

    @property
    def error_share(self) -> float:
        return self.errored / self.runs if self.runs else 0.0


@dataclass(frozen=True)
class SettingCount:
    settings: str
    count: int


@dataclass(frozen=True)
class InstrumentStats:
    id: str
    views: int
    top_settings: list[SettingCount]


@dataclass(frozen=True)
class ClassStats:
    exercises: list[ExerciseStats]
    snippets: list[SnippetStats]
    instruments: list[InstrumentStats]


def median_from_histogram(histogram: dict[int, int]) -> float | None:
    """The median of values given as {value: how many}."""
    total = sum(histogram.values())
    if total == 0:
        return None
    ordered = sorted(histogram.items())

    def nth(n: int) -> int:  # 0-based
        seen = 0
        for value, count in ordered:
            seen += count
            if n < seen:
                return value
        raise IndexError(n)

    if total % 2:
        return float(nth(total // 2))
    return (nth(total // 2 - 1) + nth(total // 2)) / 2


def class_stats(
    engine: Engine, exercise_ids: list[str], snippet_ids: list[str], instrument_ids: list[str]
) -> ClassStats:
    """Everything the instructor view shows, in a handful of aggregate queries (one connection)."""
    by_exercise = {i: ExerciseStats(i) for i in exercise_ids}
    e = exercise_learners.c
    with engine.connect() as connection:
        for exercise_id, learners, count, solved, first_try, revealed in connection.execute(
            select(
                e.exercise_id,
                func.count(),
                func.sum(e.attempts),
                func.count(e.solved_at),
                func.sum(e.first_correct),
                func.sum(e.revealed_before_solved),
            )
            .where(e.exercise_id.in_(exercise_ids))
            .group_by(e.exercise_id)
        ):
            stats = by_exercise[exercise_id]
            stats.learners, stats.attempts, stats.solved = int(learners), int(count or 0), int(solved)
            stats.first_try_correct, stats.revealed_before_solved = int(first_try or 0), int(revealed or 0)

        histograms: dict[str, dict[int, int]] = defaultdict(dict)
        for exercise_id, tries, learners in connection.execute(
            select(e.exercise_id, e.attempts_to_solve, func.count())
            .where(e.exercise_id.in_(exercise_ids), e.attempts_to_solve.is_not(None))
            .group_by(e.exercise_id, e.attempts_to_solve)
        ):
            histograms[exercise_id][int(tries)] = int(learners)
        for exercise_id, histogram in histograms.items():
            by_exercise[exercise_id].median_attempts_to_solve = median_from_histogram(histogram)

        w = wrong_answer_counts.c
        ranked = (
            select(
                w.exercise_id,
                w.answer,
                w.count,
                func.row_number().over(partition_by=w.exercise_id, order_by=(w.count.desc(), w.answer)).label("place"),
            )
            .where(w.exercise_id.in_(exercise_ids))
            .subquery()
        )
        for exercise_id, answer, count, _ in connection.execute(
            select(ranked).where(ranked.c.place <= TOP).order_by(ranked.c.exercise_id, ranked.c.place)
        ):
            by_exercise[exercise_id].wrong_answers.append(WrongAnswer(answer, int(count)))

        s = snippet_runs
        snippet_rows = {
            snippet_id: SnippetStats(snippet_id, int(runs), int(errored or 0), int(learners))
            for snippet_id, runs, errored, learners in connection.execute(
                select(
                    s.c.snippet_id,
                    func.count(),
                    func.sum(case((s.c.status != "ok", 1), else_=0).cast(Integer)),
                    func.count(distinct(s.c.learner_id)),
                )
                .where(s.c.snippet_id.in_(snippet_ids))
                .group_by(s.c.snippet_id)
            )
        }

        v = instrument_views
        view_counts = {
            instrument_id: int(count)
            for instrument_id, count in connection.execute(
                select(v.c.instrument_id, func.count())
                .where(v.c.instrument_id.in_(instrument_ids))
                .group_by(v.c.instrument_id)
            )
        }
        settings = (
            select(v.c.instrument_id, v.c.settings, func.count().label("n"))
            .where(v.c.instrument_id.in_(instrument_ids))
            .group_by(v.c.instrument_id, v.c.settings)
            .subquery()
        )
        ranked_settings = select(
            settings,
            func.row_number()
            .over(partition_by=settings.c.instrument_id, order_by=(settings.c.n.desc(), settings.c.settings))
            .label("place"),
        ).subquery()
        top_settings: dict[str, list[SettingCount]] = defaultdict(list)
        for instrument_id, setting, count, _ in connection.execute(
            select(ranked_settings)
            .where(ranked_settings.c.place <= TOP)
            .order_by(ranked_settings.c.instrument_id, ranked_settings.c.place)
        ):
            top_settings[instrument_id].append(SettingCount(setting, int(count)))

    return ClassStats(
        exercises=[by_exercise[i] for i in exercise_ids],
        snippets=[snippet_rows.get(i, SnippetStats(i, 0, 0, 0)) for i in snippet_ids],
        instruments=[InstrumentStats(i, view_counts.get(i, 0), top_settings.get(i, [])) for i in instrument_ids],
    )
