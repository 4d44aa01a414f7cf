"""The instructor view's model: the class's stats labelled for people, as charts, JSON and CSV.

Counts come from `app.class_stats` (SQL aggregates). Here each common wrong answer is
labelled with the mistake the grader diagnoses for it (re-grading a handful of
distinct answers, not the attempts), and the charts are drawn with matplotlib as
accessible inline SVG (a title, and a description that says the numbers in words).
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from typing import Any

from matplotlib.figure import Figure

from app.class_stats import ClassStats, ExerciseStats, class_stats
from app.content.loader import ChapterLibrary
from app.content.model import Exercise
from app.exercises.grading import grade_answer
from app.instruments.svg import INK, figure_to_svg
from app.storage import ProgressStore

_REASONS = {
    "unreadable": "could not be read",
    "incompatible_unit": "a unit of the wrong kind",
    "sign": "the wrong sign",
    "bare_unit": "right number, unit missing",
    "binary_prefix": "GiB for GB (or the reverse)",
    "percent_fraction": "a fraction for a percent",
    "prefix_scale": "off by a unit prefix (×1000)",
    "power_of_ten": "off by a power of ten",
    "power_of_two": "off by a power of two",
    "too_high": "too high (not diagnosed)",
    "too_low": "too low (not diagnosed)",
}


@dataclass(frozen=True)
class LabelledWrongAnswer:
    answer: str
    count: int
    mistake: str


@dataclass(frozen=True)
class ExerciseRow:
    number: str  # "6.1"
    stats: ExerciseStats
    wrong_answers: list[LabelledWrongAnswer]


@dataclass(frozen=True)
class InstructorReport:
    exercises: list[ExerciseRow]
    stats: ClassStats


def mistake_label(exercise: Exercise, answer: str) -> str:
    """What the grader makes of a wrong answer: the author's anticipated mistake, or the slip it diagnoses."""
    grade = grade_answer(exercise.answer_key, answer)
    if grade.reason == "mistake":
        first_sentence = grade.feedback.split(". ")[0].rstrip(".")
        return first_sentence if len(first_sentence) <= 120 else first_sentence[:119] + "…"
    return _REASONS.get(grade.reason or "", grade.reason or "not diagnosed")


def build_report(library: ChapterLibrary, store: ProgressStore) -> InstructorReport:
    chapters = library.chapters()
    exercises = [(f"{c.number}.{i}", e) for c in chapters for i, e in enumerate(c.exercises, start=1)]
    stats = class_stats(
        store.engine,
        [e.id for _, e in exercises],
        [s.id for c in chapters for s in c.snippets],
        [i.id for c in chapters for i in c.instruments],
    )
    rows = []
    for (number, exercise), row in zip(exercises, stats.exercises, strict=True):
        labelled = [
            LabelledWrongAnswer(w.answer, w.count, mistake_label(exercise, w.answer)) for w in row.wrong_answers
        ]
        rows.append(ExerciseRow(number, row, labelled))
    return InstructorReport(rows, stats)


def report_json(report: InstructorReport) -> dict[str, Any]:
    return {
        "exercises": [
            {
                "id": row.stats.id,
                "learners": row.stats.learners,
                "attempts": row.stats.attempts,
                "solved": row.stats.solved,
                "first_try_correct": row.stats.first_try_correct,
                "median_attempts_to_solve": row.stats.median_attempts_to_solve,
                "revealed_before_solved": row.stats.revealed_before_solved,
                "wrong_answers": [
                    {"answer": w.answer, "count": w.count, "mistake": w.mistake} for w in row.wrong_answers
                ],
            }
            for row in report.exercises
        ],
        "snippets": [
            {
                "id": s.id,
                "runs": s.runs,
                "errored": s.errored,
                "error_share": round(s.error_share, 4),
                "learners": s.learners,
            }
            for s in report.stats.snippets
        ],
        "instruments": [
            {
                "id": i.id,
                "views": i.views,
                "top_settings": [{"settings": t.settings, "count": t.count} for t in i.top_settings],
            }
            for i in report.stats.instruments
        ],
    }


CSV_COLUMNS = [
    "kind",
    "id",
    "learners",
    "attempts_or_runs_or_views",
    "solved",
    "first_try_correct",
    "median_attempts_to_solve",
    "revealed_before_solved",
    "errored",
    "detail",
    "count",
]


def report_csv(report: InstructorReport) -> str:
    """One table: a row per exercise, snippet and instrument, then one per common wrong answer and setting."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(CSV_COLUMNS)
    for row in report.exercises:
        s = row.stats
        writer.writerow(
            [
                "exercise",
                s.id,
                s.learners,
                s.attempts,
                s.solved,
                s.first_try_correct,
                _blank(s.median_attempts_to_solve),
                s.revealed_before_solved,
                "",
                "",
                "",
            ]
        )
    for snippet in report.stats.snippets:
        writer.writerow(
            ["snippet", snippet.id, snippet.learners, snippet.runs, "", "", "", "", snippet.errored, "", ""]
        )
    for instrument in report.stats.instruments:
        writer.writerow(["instrument", instrument.id, "", instrument.views, "", "", "", "", "", "", ""])
    for row in report.exercises:
        for wrong in row.wrong_answers:
            writer.writerow(
                [
                    "wrong_answer",
                    row.stats.id,
                    "",
                    "",
                    "",
                    "",
                    "",
                    "",
                    "",
                    f"{wrong.answer} — {wrong.mistake}",
                    wrong.count,
                ]
            )
    for instrument in report.stats.instruments:
        for setting in instrument.top_settings:
            writer.writerow(
                ["instrument_setting", instrument.id, "", "", "", "", "", "", "", setting.settings, setting.count]
            )
    return out.getvalue()


def _blank(value: float | None) -> str | float:
    return "" if value is None else value


# --- charts ----------------------------------------------------------------------------

_COLORS = ("#0072b2", "#009e73", "#e69f00")  # Okabe-Ito, legible on light and dark


def exercises_chart(report: InstructorReport) -> str:
    """Per exercise: learners who tried, who solved, who solved on the first try (grouped bars)."""
    rows = report.exercises
    labels = [f"Ex {r.number}" for r in rows]
    series = [
        ("tried", [r.stats.learners for r in rows]),
        ("solved", [r.stats.solved for r in rows]),
        ("first try", [r.stats.first_try_correct for r in rows]),
    ]
    figure = Figure(figsize=(7.2, 0.55 * len(rows) + 1.2))
    axes = figure.add_subplot()
    height = 0.26
    for offset, ((name, values), color) in enumerate(zip(series, _COLORS, strict=True)):
        positions = [i + (offset - 1) * height for i in range(len(rows))]
        axes.barh(positions, values, height=height, color=color, label=name)
    axes.set_yticks(range(len(rows)), labels)
    axes.invert_yaxis()
    axes.set_xlabel("learners")
    _ink(axes)
    axes.legend(loc="lower right", frameon=False, labelcolor=INK)
    figure.tight_layout()
    described = "; ".join(
        f"exercise {r.number}: {r.stats.learners} tried, {r.stats.solved} solved, "
        f"{r.stats.first_try_correct} on the first try"
        for r in rows
    )
    return figure_to_svg(
        figure,
        kind="class-exercises",
        key=described,
        title="Learners per exercise: tried, solved, solved on the first try",
        description=described + ".",
    )


def snippets_chart(report: InstructorReport) -> str:
    """Per snippet: the share of runs that errored."""
    snippets = report.stats.snippets
    figure = Figure(figsize=(7.2, 0.5 * len(snippets) + 1.1))
    axes = figure.add_subplot()
    axes.barh(range(len(snippets)), [100 * s.error_share for s in snippets], color=_COLORS[2])
    axes.set_yticks(range(len(snippets)), [s.id for s in snippets])
    axes.invert_yaxis()
    axes.set_xlim(0, 100)
    axes.set_xlabel("runs that errored (%)")
    _ink(axes)
    figure.tight_layout()
    described = "; ".join(
        f"{s.id}: {s.errored} of {s.runs} runs errored ({100 * s.error_share:.0f}%)" for s in snippets
    )
    return figure_to_svg(
        figure,
        kind="class-snippets",
        key=described,
        title="Share of snippet runs that errored",
        description=described + ".",
    )


def _ink(axes: Any) -> None:
    for spine in ("top", "right"):
        axes.spines[spine].set_visible(False)
    for spine in ("left", "bottom"):
        axes.spines[spine].set_color(INK)
    axes.tick_params(colors=INK)
    axes.xaxis.label.set_color(INK)
