"""From stored attempts to what a page shows: each exercise's state and a chapter's progress."""

from __future__ import annotations

from dataclasses import dataclass

from app.content.model import Chapter, Exercise
from app.exercises.grading import Grade, grade_answer
from app.storage import ExerciseRecord


@dataclass(frozen=True)
class ExerciseState:
    answer: str | None
    verdict: str | None
    feedback: str
    show_solution: bool
    error: str | None = None  # input refused before grading (shown in place, nothing saved)


@dataclass(frozen=True)
class ChapterProgress:
    solved: int
    total: int
    attempted: int


def state_after_grade(answer: str, grade: Grade, revealed: bool) -> ExerciseState:
    """The state right after a submission: the solution opens on a correct answer."""
    return ExerciseState(
        answer=answer,
        verdict=grade.verdict,
        feedback=grade.feedback,
        show_solution=grade.verdict == "correct" or revealed,
    )


def state_from_record(exercise: Exercise, record: ExerciseRecord) -> ExerciseState:
    """Rebuild the state of a stored attempt; grading is deterministic, so feedback is re-derived."""
    grade = grade_answer(exercise.answer_key, record.last.answer)
    return ExerciseState(
        answer=record.last.answer,
        verdict=record.last.verdict,
        feedback=grade.feedback,
        show_solution=record.last.verdict == "correct" or record.revealed,
    )


def chapter_states(chapter: Chapter, records: dict[str, ExerciseRecord]) -> dict[str, ExerciseState]:
    return {e.id: state_from_record(e, records[e.id]) for e in chapter.exercises if e.id in records}


def chapter_progress(chapter: Chapter, records: dict[str, ExerciseRecord]) -> ChapterProgress:
    ids = {e.id for e in chapter.exercises}
    return ChapterProgress(
        solved=sum(1 for i, r in records.items() if i in ids and r.solved),
        total=len(ids),
        attempted=sum(1 for i in records if i in ids),
    )
