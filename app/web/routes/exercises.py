"""Exercises: grade an answer, save the attempt, answer with the verdict in place; practice variants.

HTMX gets the result fragment; a plain form post gets the whole chapter with the
verdict filled in (the form's action carries the #anchor that scrolls to it); the
JSON API gets the verdict as data. "Try another" draws a fresh variant of the
exercise (its numbers, not its question) and answers with the exercise re-rendered.
"""

from __future__ import annotations

import asyncio
import random

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, JSONResponse, Response
from pydantic import BaseModel, ConfigDict, Field

from app.content.model import Chapter, Exercise, ExerciseVariant
from app.errors import BadInput, NotFound
from app.exercises.answers import MAX_LENGTH as MAX_ANSWER_CHARS
from app.exercises.grading import Grade, grade_answer
from app.exercises.variants import sample_params
from app.storage import VARIANT_ID_MAX_CHARS, StoreUnavailable
from app.web.chapter_page import chapter_context, exercise_numbers, saved_records
from app.web.dependencies import find_chapter, find_exercise
from app.web.errors import api_errors
from app.web.exercise_progress import ExerciseState, find_variant, state_after_grade
from app.web.forms import Text, read_form
from app.web.htmx import is_htmx, render
from app.web.state import AppState, app_state

router = APIRouter()

_rng = random.SystemRandom()


class CheckRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    answer: Text = Field(max_length=MAX_ANSWER_CHARS, description="What the student typed, e.g. '112 GB'")
    variant: Text | None = Field(
        default=None,
        max_length=VARIANT_ID_MAX_CHARS,
        description="A variant id from POST /api/exercises/{id}/variants; omitted: the chapter's numbers",
    )
    reveal: bool = Field(default=False, description="Return the worked solution even if the answer is not correct")


class CheckResponse(BaseModel):
    verdict: str = Field(description="correct, incorrect or unreadable")
    feedback: str = Field(description="Plain text; $...$ spans are LaTeX math")
    solution_html: str | None = Field(
        description="The worked solution, once the answer is correct (or asked for with reveal)"
    )
    variant: str | None = Field(description="The variant graded; null: the chapter's numbers")


class VariantResponse(BaseModel):
    variant: str = Field(description="Opaque, tamper-proof id of this variant; send it back with /check")
    prompt_html: str
    params: dict[str, float]


def variant_named(state: AppState, exercise: Exercise, variant_id: str | None) -> ExerciseVariant:
    return find_variant(state.library, state.variant_ids, exercise, variant_id)


def fresh_variant(state: AppState, exercise: Exercise, current: ExerciseVariant) -> ExerciseVariant:
    """A random variant other than the one the learner has (the chapter's numbers are never drawn)."""
    if exercise.recipe is None:
        raise BadInput(f"Exercise “{exercise.id}” has one set of numbers; it has no practice variants.")
    recipe = exercise.recipe
    for _ in range(20):
        params = sample_params(recipe, _rng, avoid=current.params or recipe.canonical)
        if params != recipe.canonical:
            break
    variant_id = state.variant_ids.issue(exercise.id, recipe, params)
    return state.library.variant(exercise, params, variant_id)


async def check_answer(
    state: AppState, learner_id: str, exercise: Exercise, variant: ExerciseVariant, answer: str
) -> Grade:
    """Grade and save one attempt (one transaction, committed before this returns)."""
    if len(answer) > MAX_ANSWER_CHARS:
        raise BadInput(
            f"That answer is {len(answer)} characters long; answers are at most {MAX_ANSWER_CHARS}.", field="answer"
        )
    grade = grade_answer(variant.answer_key, answer)
    await asyncio.to_thread(state.store.record_attempt, learner_id, exercise.id, answer, grade.verdict, variant.id)
    return grade


async def respond(
    request: Request,
    state: AppState,
    chapter: Chapter,
    exercise: Exercise,
    exercise_state: ExerciseState,
    learner_id: str,
    is_new: bool,
    fragment: str = "_exercise_result.html",
) -> HTMLResponse:
    if is_htmx(request):
        context = {
            "chapter": chapter,
            "exercise": exercise,
            "state": exercise_state,
            "number": exercise_numbers(chapter)[exercise.id],
        }
        response = render(request, state.templates, fragment, context)
    else:
        context = await chapter_context(
            state, request, chapter, learner_id, exercise_states={exercise.id: exercise_state}
        )
        response = render(request, state.templates, "chapter.html", context)
    if is_new:
        state.learners.attach(response, learner_id)
    return response


@router.post("/chapters/{slug}/exercises/{exercise_id}", response_class=HTMLResponse, include_in_schema=False)
async def submit_answer(
    slug: str, exercise_id: str, request: Request, state: AppState = Depends(app_state)
) -> Response:
    chapter = find_chapter(state, slug)
    exercise = find_exercise(chapter, exercise_id)
    form = await read_form(request)
    answer = form.get("answer", "")
    variant = variant_named(state, exercise, form.get("variant"))
    learner_id, is_new = state.learners.ensure(request)
    # Unreadable progress is not this request's failure: saving the answer below fails too,
    # with the message that matters.
    records, _ = await saved_records(state, learner_id, [exercise.id]) if not is_new else ({}, None)
    record = records.get(exercise.id)
    try:
        grade = await check_answer(state, learner_id, exercise, variant, answer)
    except (BadInput, StoreUnavailable) as refused:
        if is_htmx(request):
            raise  # the error handler answers with a fragment shown in place
        refused_state = ExerciseState(
            answer=None, verdict=None, feedback="", show_solution=False, error=refused.message, variant=variant
        )
        response = await respond(request, state, chapter, exercise, refused_state, learner_id, is_new)
        response.status_code = refused.status
        return response
    # A revealed solution stays open for the chapter's numbers; a fresh variant is earned anew.
    revealed = bool(record and record.revealed) and variant.id is None
    exercise_state = state_after_grade(answer, grade, revealed=revealed, variant=variant if variant.id else None)
    return await respond(request, state, chapter, exercise, exercise_state, learner_id, is_new)


@router.post("/chapters/{slug}/exercises/{exercise_id}/solution", response_class=HTMLResponse, include_in_schema=False)
async def reveal_solution(
    slug: str, exercise_id: str, request: Request, state: AppState = Depends(app_state)
) -> Response:
    chapter = find_chapter(state, slug)
    exercise = find_exercise(chapter, exercise_id)
    form = await read_form(request)
    variant = variant_named(state, exercise, form.get("variant"))
    learner_id = state.learners.read(request)
    record = (
        (await asyncio.to_thread(state.store.records, learner_id, [exercise.id])).get(exercise.id)
        if learner_id
        else None
    )
    if learner_id is None or record is None:
        raise BadInput("Try an answer first; the worked solution opens after an attempt.", field="answer")
    await asyncio.to_thread(state.store.record_reveal, learner_id, exercise.id)
    answer = record.last.answer if record.last.variant == variant.id else None
    grade = grade_answer(variant.answer_key, answer) if answer is not None else None
    exercise_state = ExerciseState(
        answer=answer,
        verdict=record.last.verdict if answer is not None else None,
        feedback=grade.feedback if grade else "",
        show_solution=True,
        variant=variant if variant.id else None,
    )
    return await respond(request, state, chapter, exercise, exercise_state, learner_id, False)


@router.post("/chapters/{slug}/exercises/{exercise_id}/variants", response_class=HTMLResponse, include_in_schema=False)
async def try_another(slug: str, exercise_id: str, request: Request, state: AppState = Depends(app_state)) -> Response:
    """The same exercise with fresh numbers: HTMX gets the exercise re-rendered, a form post the chapter."""
    chapter = find_chapter(state, slug)
    exercise = find_exercise(chapter, exercise_id)
    form = await read_form(request)
    current = variant_named(state, exercise, form.get("current"))
    variant = fresh_variant(state, exercise, current)
    learner_id = state.learners.read(request)
    exercise_state = ExerciseState(answer=None, verdict=None, feedback="", show_solution=False, variant=variant)
    return await respond(
        request, state, chapter, exercise, exercise_state, learner_id or "", False, fragment="_exercise.html"
    )


# --- the JSON API ------------------------------------------------------------------------


def api_exercise(state: AppState, exercise_id: str) -> Exercise:
    found = state.library.find_exercise(exercise_id)
    if found is None:
        raise NotFound(f"There is no exercise “{exercise_id}”.")
    return found[1]


@router.post(
    "/api/exercises/{exercise_id}/variants",
    status_code=201,
    response_model=VariantResponse,
    tags=["exercises"],
    responses=api_errors(404, 422),
)
async def create_variant(exercise_id: str, state: AppState = Depends(app_state)) -> Response:
    """A fresh practice variant: the question with new numbers.

    It is graded with the same units, tolerance and anticipated mistakes."""
    exercise = api_exercise(state, exercise_id)
    variant = fresh_variant(state, exercise, exercise.canonical)
    assert variant.id is not None
    payload = VariantResponse(variant=variant.id, prompt_html=variant.prompt_html, params=variant.params)
    return JSONResponse(payload.model_dump(), status_code=201)


@router.post(
    "/api/exercises/{exercise_id}/check",
    response_model=CheckResponse,
    tags=["exercises"],
    responses=api_errors(404, 413, 422, 503),
)
async def check_exercise(
    exercise_id: str, body: CheckRequest, request: Request, state: AppState = Depends(app_state)
) -> Response:
    """Grade an answer (to the chapter's numbers, or to `variant`).

    The worked solution comes back once correct, or with `reveal`."""
    exercise = api_exercise(state, exercise_id)
    variant = variant_named(state, exercise, body.variant)
    learner_id, is_new = state.learners.ensure(request)
    grade = await check_answer(state, learner_id, exercise, variant, body.answer)
    if body.reveal:
        await asyncio.to_thread(state.store.record_reveal, learner_id, exercise.id)
    payload = CheckResponse(
        verdict=grade.verdict,
        feedback=grade.feedback,
        solution_html=variant.solution_html if grade.verdict == "correct" or body.reveal else None,
        variant=variant.id,
    )
    response = JSONResponse(payload.model_dump())
    if is_new:
        state.learners.attach(response, learner_id)
    return response
