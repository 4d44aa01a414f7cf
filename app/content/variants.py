"""Rendering one practice variant of an exercise: its texts filled with the variant's numbers.

The canonical variant (the chapter's own numbers) is rendered once with the chapter;
others are rendered on demand here, with the same Markdown parser, and kept in a
bounded cache (an exercise has a few hundred variants at most, the page shows one).
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import lru_cache

from markdown_it import MarkdownIt

from app.content.model import Exercise, ExerciseVariant
from app.content.plugins.directive import DocumentEnv, render_nested
from app.exercises.grading import AnswerKey
from app.exercises.variants import fill, key_for


def render_variant(
    md: MarkdownIt, exercise: Exercise, params: Mapping[str, float], variant_id: str | None
) -> ExerciseVariant:
    """The variant of ``exercise`` with these (already validated) parameters."""
    if exercise.recipe is None or exercise.texts is None or params == exercise.recipe.canonical:
        return exercise.canonical
    ordered = tuple((p.name, float(params[p.name])) for p in exercise.recipe.parameters)
    rendered = _render(md, exercise, ordered)
    return ExerciseVariant(variant_id, dict(ordered), *rendered)


@lru_cache(maxsize=2048)
def _render(
    md: MarkdownIt, exercise: Exercise, ordered: tuple[tuple[str, float], ...]
) -> tuple[str, str, tuple[str, ...], AnswerKey]:
    assert exercise.recipe is not None and exercise.texts is not None
    params = dict(ordered)
    env: DocumentEnv = {"chapter_number": 0}
    texts = exercise.texts

    def html(text: str) -> str:
        return render_nested(md, fill(text, params), env, exercise.line)

    return (
        html(texts.prompt),
        html(texts.solution),
        tuple(html(hint) for hint in texts.hints),
        key_for(texts.answer_key, exercise.recipe, params),
    )
