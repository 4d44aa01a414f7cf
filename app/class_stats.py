"""What the class finds hard: aggregate queries over the progress store, for the instructor.

Every figure is counted by the database (GROUP BY over indexed columns, a window
function for the top-N lists; the same SQL on SQLite and PostgreSQL), so the cost
grows with the number of exercises, snippets and instruments, not with attempts;
only the histogram of attempts-to-solve comes back per exercise, for its median.
Learners stay anonymous: no learner id leaves this module, only counts.

Pure persistence: no HTTP, no grading (the web layer labels wrong answers with the
mistake the grader diagnoses).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field

from sqlalchemy import Engine, Integer, and_, case, distinct, func, or_, select

from app.storage import attempts, instrument_views, reveals, snippet_runs

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
    a = attempts
    is_correct = a.c.verdict == "correct"
    by_exercise = {i: ExerciseStats(i) for i in exercise_ids}
    with engine.connect() as connection:
        for exercise_id, learners, count, solved in connection.execute(
            select(
                a.c.exercise_id,
                func.count(distinct(a.c.learner_id)),
                func.count(),
                func.count(distinct(case((is_correct, a.c.learner_id)))),
            )
            .where(a.c.exercise_id.in_(exercise_ids))
            .group_by(a.c.exercise_id)
        ):
            stats = by_exercise[exercise_id]
            stats.learners, stats.attempts, stats.solved = int(learners), int(count), int(solved)

        first = (
            select(a.c.exercise_id, func.min(a.c.id).label("first_id"))
            .where(a.c.exercise_id.in_(exercise_ids))
            .group_by(a.c.exercise_id, a.c.learner_id)
            .subquery()
        )
        for exercise_id, count in connection.execute(
            select(a.c.exercise_id, func.count())
            .join(first, a.c.id == first.c.first_id)
            .where(is_correct)
            .group_by(a.c.exercise_id)
        ):
            by_exercise[exercise_id].first_try_correct = int(count)

        first_correct = (
            select(
                a.c.exercise_id,
                a.c.learner_id,
                func.min(a.c.id).label("first_correct_id"),
                func.min(a.c.created_at).label("solved_at"),
            )
            .where(a.c.exercise_id.in_(exercise_ids), is_correct)
            .group_by(a.c.exercise_id, a.c.learner_id)
            .subquery()
        )
        tries = (
            select(a.c.exercise_id, func.count().label("tries"))
            .join(
                first_correct,
                and_(
                    a.c.exercise_id == first_correct.c.exercise_id,
                    a.c.learner_id == first_correct.c.learner_id,
                    a.c.id <= first_correct.c.first_correct_id,
                ),
            )
            .group_by(a.c.exercise_id, a.c.learner_id)
            .subquery()
        )
        histograms: dict[str, dict[int, int]] = defaultdict(dict)
        for exercise_id, count_of_tries, learners in connection.execute(
            select(tries.c.exercise_id, tries.c.tries, func.count()).group_by(tries.c.exercise_id, tries.c.tries)
        ):
            histograms[exercise_id][int(count_of_tries)] = int(learners)
        for exercise_id, histogram in histograms.items():
            by_exercise[exercise_id].median_attempts_to_solve = median_from_histogram(histogram)

        r = reveals
        for exercise_id, count in connection.execute(
            select(r.c.exercise_id, func.count())
            .select_from(
                r.outerjoin(
                    first_correct,
                    and_(r.c.exercise_id == first_correct.c.exercise_id, r.c.learner_id == first_correct.c.learner_id),
                )
            )
            .where(
                r.c.exercise_id.in_(exercise_ids),
                or_(first_correct.c.solved_at.is_(None), r.c.created_at < first_correct.c.solved_at),
            )
            .group_by(r.c.exercise_id)
        ):
            by_exercise[exercise_id].revealed_before_solved = int(count)

        typed = func.lower(func.trim(a.c.answer))
        wrong = (
            select(a.c.exercise_id, typed.label("answer"), func.count().label("n"))
            .where(a.c.exercise_id.in_(exercise_ids), a.c.verdict != "correct", a.c.variant.is_(None))
            .group_by(a.c.exercise_id, typed)
            .subquery()
        )
        ranked = select(
            wrong,
            func.row_number()
            .over(partition_by=wrong.c.exercise_id, order_by=(wrong.c.n.desc(), wrong.c.answer))
            .label("place"),
        ).subquery()
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
