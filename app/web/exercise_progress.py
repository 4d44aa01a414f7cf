"""From stored attempts to what a page shows: each exercise's state and a chapter's progress.

A view model for the web layer: it joins the chapter (content), the learner's records
(storage) and practice variants (their ids are read with the server's key).
"""

from __future__ import annotations

from dataclasses import dataclass

from app.content.instrument_links import link_query, linked_answer
from app.content.loader import ChapterLibrary
from app.content.model import Chapter, Exercise, ExerciseVariant
from app.exercises.grading import Grade, grade_answer
from app.exercises.variant_ids import UnknownVariant, VariantIds
from app.storage import ExerciseRecord


@dataclass(frozen=True)
class ExerciseState:
    answer: str | None
    verdict: str | None
    feedback: str
    show_solution: bool
    error: str | None = None  # input refused before grading (shown in place, nothing saved)
    variant: ExerciseVariant | None = None  # None: the chapter's own numbers


@dataclass(frozen=True)
class ChapterProgress:
    solved: int
    total: int
    attempted: int
    solved_canonical: int = 0  # of `solved`, how many with the chapter's own numbers
    solved_in_variants_only: int = 0  # and how many only in practice variants


def find_variant(
    library: ChapterLibrary, ids: VariantIds, exercise: Exercise, variant_id: str | None
) -> ExerciseVariant:
    """The variant a learner names (UnknownVariant, a 422, if forged); the canonical one for None/""."""
    if not variant_id:
        return exercise.canonical
    params = ids.read(exercise.id, exercise.recipe, variant_id)
    return library.variant(exercise, params, variant_id)


def state_after_grade(
    answer: str, grade: Grade, revealed: bool, variant: ExerciseVariant | None = None
) -> ExerciseState:
    """The state right after a submission: the solution opens on a correct answer."""
    return ExerciseState(
        answer=answer,
        verdict=grade.verdict,
        feedback=grade.feedback,
        show_solution=grade.verdict == "correct" or revealed,
        variant=variant,
    )


def state_from_record(exercise: Exercise, record: ExerciseRecord, variant: ExerciseVariant) -> ExerciseState:
    """Rebuild the state of a stored attempt; grading is deterministic, so feedback is re-derived."""
    grade = grade_answer(variant.answer_key, record.last.answer)
    return ExerciseState(
        answer=record.last.answer,
        verdict=record.last.verdict,
        feedback=grade.feedback,
        show_solution=record.last.verdict == "correct" or record.revealed,
        variant=variant if variant.id else None,
    )


def recorded_variant(
    library: ChapterLibrary, ids: VariantIds, exercise: Exercise, record: ExerciseRecord
) -> ExerciseVariant | None:
    """The variant the last attempt was for; None when that variant no longer exists (new key, new params)."""
    try:
        return find_variant(library, ids, exercise, record.last.variant)
    except UnknownVariant:
        return None


def chapter_states(
    library: ChapterLibrary, ids: VariantIds, chapter: Chapter, records: dict[str, ExerciseRecord]
) -> dict[str, ExerciseState]:
    states = {}
    for exercise in chapter.exercises:
        record = records.get(exercise.id)
        if record is None:
            continue
        variant = recorded_variant(library, ids, exercise, record)
        if variant is not None:
            states[exercise.id] = state_from_record(exercise, record, variant)
    return states


def chapter_progress(chapter: Chapter, records: dict[str, ExerciseRecord]) -> ChapterProgress:
    ids = {e.id for e in chapter.exercises}
    mine = [r for i, r in records.items() if i in ids]
    return ChapterProgress(
        solved=sum(1 for r in mine if r.solved),
        total=len(ids),
        attempted=len(mine),
        solved_canonical=sum(1 for r in mine if r.solved_canonical),
        solved_in_variants_only=sum(1 for r in mine if r.solved and not r.solved_canonical),
    )


@dataclass(frozen=True)
class SolutionLink:
    href: str
    text: str


def solution_link(chapter: Chapter, exercise: Exercise, variant: ExerciseVariant) -> SolutionLink | None:
    """"See it in Instrument 6.n": only when the instrument, set as the link says, shows this variant's answer."""
    link = exercise.instrument_link
    ref = chapter.instrument(link.instrument_id) if link else None
    if link is None or ref is None:
        return None
    try:
        if grade_answer(variant.answer_key, linked_answer(link, ref, variant)).verdict != "correct":
            return None
        query = link_query(link, ref, variant.params, exercise.id)
    except (AttributeError, KeyError, TypeError, ValueError):
        return None
    return SolutionLink(f"/chapters/{chapter.slug}?{query}#{ref.id}", f"See it in Instrument {ref.number}")
