"""Exercises: grade an answer, save the attempt, answer with the verdict in place.

HTMX gets the result fragment; a plain form post gets the whole chapter with the
verdict filled in (the form's action carries the #anchor that scrolls to it); the
JSON API gets the verdict as data.
"""

from __future__ import annotations

import asyncio

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, JSONResponse, Response
from pydantic import BaseModel, ConfigDict, Field

from app.content.model import Chapter, Exercise
from app.errors import BadInput, NotFound
from app.exercises.answers import MAX_LENGTH as MAX_ANSWER_CHARS
from app.exercises.grading import Grade, grade_answer
from app.exercises.progress import ExerciseState, state_after_grade
from app.storage import StoreUnavailable
from app.web.chapter_page import chapter_context, saved_records
from app.web.dependencies import find_chapter, find_exercise
from app.web.errors import api_errors
from app.web.forms import Text, read_form
from app.web.htmx import is_htmx, render
from app.web.state import AppState, app_state

router = APIRouter()


class CheckRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    answer: Text = Field(max_length=MAX_ANSWER_CHARS, description="What the student typed, e.g. '112 GB'")


class CheckResponse(BaseModel):
    verdict: str = Field(description="correct, incorrect or unreadable")
    feedback: str
    solution_html: str | None = Field(description="The worked solution, once the answer is correct")


async def check_answer(state: AppState, learner_id: str, exercise: Exercise, answer: str) -> Grade:
    """Grade and save one attempt (one transaction, committed before this returns)."""
    if len(answer) > MAX_ANSWER_CHARS:
        raise BadInput(
            f"That answer is {len(answer)} characters long; answers are at most {MAX_ANSWER_CHARS}.", field="answer"
        )
    grade = grade_answer(exercise.answer_key, answer)
    await asyncio.to_thread(state.store.record_attempt, learner_id, exercise.id, answer, grade.verdict)
    return grade


async def respond(
    request: Request,
    state: AppState,
    chapter: Chapter,
    exercise: Exercise,
    exercise_state: ExerciseState,
    learner_id: str,
    is_new: bool,
) -> HTMLResponse:
    if is_htmx(request):
        context = {"chapter": chapter, "exercise": exercise, "state": exercise_state}
        response = render(request, state.templates, "_exercise_result.html", context)
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
    learner_id, is_new = state.learners.ensure(request)
    # Unreadable progress is not this request's failure: saving the answer below fails too,
    # with the message that matters.
    records, _ = await saved_records(state, learner_id, [exercise.id]) if not is_new else ({}, None)
    record = records.get(exercise.id)
    try:
        grade = await check_answer(state, learner_id, exercise, answer)
    except (BadInput, StoreUnavailable) as refused:
        if is_htmx(request):
            raise  # the error handler answers with a fragment shown in place
        refused_state = ExerciseState(
            answer=None, verdict=None, feedback="", show_solution=False, error=refused.message
        )
        response = await respond(request, state, chapter, exercise, refused_state, learner_id, is_new)
        response.status_code = refused.status
        return response
    exercise_state = state_after_grade(answer, grade, revealed=bool(record and record.revealed))
    return await respond(request, state, chapter, exercise, exercise_state, learner_id, is_new)


@router.post("/chapters/{slug}/exercises/{exercise_id}/solution", response_class=HTMLResponse, include_in_schema=False)
async def reveal_solution(
    slug: str, exercise_id: str, request: Request, state: AppState = Depends(app_state)
) -> Response:
    chapter = find_chapter(state, slug)
    exercise = find_exercise(chapter, exercise_id)
    learner_id = state.learners.read(request)
    record = (
        (await asyncio.to_thread(state.store.records, learner_id, [exercise.id])).get(exercise.id)
        if learner_id
        else None
    )
    if learner_id is None or record is None:
        raise BadInput("Try an answer first; the worked solution opens after an attempt.", field="answer")
    await asyncio.to_thread(state.store.record_reveal, learner_id, exercise.id)
    grade = grade_answer(exercise.answer_key, record.last.answer)
    exercise_state = ExerciseState(
        answer=record.last.answer, verdict=record.last.verdict, feedback=grade.feedback, show_solution=True
    )
    return await respond(request, state, chapter, exercise, exercise_state, learner_id, False)


@router.post(
    "/api/exercises/{exercise_id}/check",
    response_model=CheckResponse,
    tags=["exercises"],
    responses=api_errors(404, 413, 422, 503),
)
async def check_exercise(
    exercise_id: str, body: CheckRequest, request: Request, state: AppState = Depends(app_state)
) -> Response:
    """Grade an answer. The worked solution is included once the answer is correct."""
    found = state.library.find_exercise(exercise_id)
    if found is None:
        raise NotFound(f"There is no exercise “{exercise_id}”.")
    _, exercise = found
    learner_id, is_new = state.learners.ensure(request)
    grade = await check_answer(state, learner_id, exercise, body.answer)
    payload = CheckResponse(
        verdict=grade.verdict,
        feedback=grade.feedback,
        solution_html=exercise.solution_html if grade.verdict == "correct" else None,
    )
    response = JSONResponse(payload.model_dump())
    if is_new:
        state.learners.attach(response, learner_id)
    return response
