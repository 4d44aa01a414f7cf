"""Chapter 07's practice variants, every one of them: solvable, graded right, and its link shows its answer."""

from __future__ import annotations

import itertools

import pytest

from app.config import Settings
from app.content.instrument_links import link_problems
from app.content.loader import ChapterLibrary
from app.content.markdown import build_markdown
from app.content.model import Chapter, Exercise
from app.content.plugins.exercise import final_value
from app.exercises.grading import grade_answer
from app.exercises.variants import fill, key_for
from app.instruments.catalog import INSTRUMENT_CATALOG

LIBRARY = ChapterLibrary(Settings().content_dir, build_markdown(INSTRUMENT_CATALOG))
COMPRESSION = LIBRARY.chapter("compression")
assert COMPRESSION is not None


def every_variant(exercise: Exercise) -> list[dict[str, float]]:
    assert exercise.recipe is not None
    names = [p.name for p in exercise.recipe.parameters]
    return [
        dict(zip(names, combo, strict=True))
        for combo in itertools.product(*(p.choices for p in exercise.recipe.parameters))
    ]


def test_every_exercise_of_the_chapter_has_practice_variants() -> None:
    assert [e.id for e in COMPRESSION.exercises if e.recipe is None] == []
    assert [len(every_variant(e)) for e in COMPRESSION.exercises] == [7, 16, 15, 30, 5]


@pytest.mark.parametrize("exercise", COMPRESSION.exercises, ids=lambda e: e.id)
def test_every_variant_states_its_own_answer_and_tells_its_mistakes_apart(exercise: Exercise) -> None:
    assert exercise.recipe is not None and exercise.texts is not None
    for params in every_variant(exercise):
        key = key_for(exercise.texts.answer_key, exercise.recipe, params)
        stated = final_value(fill(exercise.texts.solution, params))
        assert stated is not None and grade_answer(key, stated).verdict == "correct", (params, stated, key.value)
        for mistake in key.mistakes:
            typed = f"{mistake.value:.10g} {mistake.unit or key.unit or ''}".strip()
            assert grade_answer(key, typed).verdict != "correct", (params, typed)
        # A variant's text names only its own numbers: nothing of the chapter's is left unfilled.
        assert "{{" not in fill(exercise.texts.prompt, params)


def linked(chapter: Chapter) -> list[Exercise]:
    return [e for e in chapter.exercises if e.instrument_link is not None]


@pytest.mark.parametrize("exercise", linked(COMPRESSION), ids=lambda e: e.id)
def test_every_variant_of_a_linked_solution_opens_the_instrument_on_its_answer(exercise: Exercise) -> None:
    assert exercise.recipe is not None and exercise.instrument_link is not None
    refs = {i.id: i for i in COMPRESSION.instruments}
    for params in every_variant(exercise):
        key = key_for(exercise.answer_key, exercise.recipe, params)
        assert link_problems(exercise.instrument_link, refs, key, params) == [], params


def test_the_linked_solutions_are_the_ones_instrument_7_1_computes() -> None:
    assert {e.id: e.instrument_link.instrument_id for e in linked(COMPRESSION) if e.instrument_link} == {
        "decode-bound-7b": "deploy-memory",
        "int4-g128-bits": "deploy-memory",
        "q4k-70b-weights": "deploy-memory",
    }
