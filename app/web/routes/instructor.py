"""What the class finds hard: `/instructor` (sign-in, stats, charts, CSV) and `GET /api/instructor/stats`.

Mounted only when `TEXTBOOK_INSTRUCTOR_TOKEN` is set; without it these addresses are
404 like any other. Counting runs in a worker thread (the database), the charts too
(matplotlib in the server process: a page an instructor opens now and then).
"""

from __future__ import annotations

import asyncio

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from pydantic import BaseModel, Field

from app.web.errors import api_errors
from app.web.forms import read_form
from app.web.htmx import render
from app.web.instructor_auth import InstructorAuth
from app.web.instructor_view import build_report, exercises_chart, report_csv, report_json, snippets_chart
from app.web.state import AppState, app_state

router = APIRouter()


class WrongAnswerOut(BaseModel):
    answer: str
    count: int
    mistake: str = Field(description="The anticipated mistake or the slip the grader diagnoses")


class ExerciseStatsOut(BaseModel):
    id: str
    learners: int
    attempts: int
    solved: int
    first_try_correct: int
    median_attempts_to_solve: float | None
    revealed_before_solved: int
    wrong_answers: list[WrongAnswerOut] = Field(
        description="The most common wrong answers to the chapter's own numbers"
    )


class SnippetStatsOut(BaseModel):
    id: str
    runs: int
    errored: int
    error_share: float
    learners: int


class SettingOut(BaseModel):
    settings: str = Field(description="The instrument's URL state, as its sliders push it")
    count: int


class InstrumentStatsOut(BaseModel):
    id: str
    views: int
    top_settings: list[SettingOut]


class StatsOut(BaseModel):
    exercises: list[ExerciseStatsOut]
    snippets: list[SnippetStatsOut]
    instruments: list[InstrumentStatsOut]


def auth(state: AppState) -> InstructorAuth:
    assert state.instructor is not None  # the router is mounted only with a token
    return state.instructor


async def login_page(request: Request, state: AppState, message: str | None, status_code: int) -> HTMLResponse:
    return render(request, state.templates, "instructor_login.html", {"message": message}, status_code=status_code)


@router.get("/instructor", response_class=HTMLResponse, include_in_schema=False)
async def instructor_page(request: Request, state: AppState = Depends(app_state)) -> Response:
    if not auth(state).is_instructor(request):
        return await login_page(request, state, None, 401)
    report = await asyncio.to_thread(build_report, state.library, state.store)
    charts = await asyncio.to_thread(lambda: (exercises_chart(report), snippets_chart(report)))
    chapter_of_instrument = {i.id: c.slug for c in state.library.chapters() for i in c.instruments}
    context = {
        "report": report,
        "exercises_svg": charts[0],
        "snippets_svg": charts[1],
        "chapter_of_instrument": chapter_of_instrument,
    }
    return render(request, state.templates, "instructor.html", context)


@router.post("/instructor/login", include_in_schema=False)
async def instructor_login(request: Request, state: AppState = Depends(app_state)) -> Response:
    form = await read_form(request)
    if not auth(state).token_matches(form.get("token", "")):
        return await login_page(request, state, "That is not the instructor token.", 401)
    response = RedirectResponse("/instructor", status_code=303)
    auth(state).sign_in(response)
    return response


@router.post("/instructor/logout", include_in_schema=False)
async def instructor_logout(state: AppState = Depends(app_state)) -> Response:
    response = RedirectResponse("/instructor", status_code=303)
    auth(state).sign_out(response)
    return response


@router.get("/instructor/stats.csv", include_in_schema=False)
async def instructor_csv(request: Request, state: AppState = Depends(app_state)) -> Response:
    auth(state).require(request)
    report = await asyncio.to_thread(build_report, state.library, state.store)
    headers = {"Content-Disposition": 'attachment; filename="class-stats.csv"', "Cache-Control": "no-store"}
    return Response(report_csv(report), media_type="text/csv; charset=utf-8", headers=headers)


@router.get("/api/instructor/stats", response_model=StatsOut, tags=["instructor"], responses=api_errors(401))
async def instructor_stats(request: Request, state: AppState = Depends(app_state)) -> Response:
    """What the class finds hard, counted by the database. Needs `Authorization: Bearer <instructor token>`."""
    auth(state).require(request)
    report = await asyncio.to_thread(build_report, state.library, state.store)
    return JSONResponse(report_json(report), headers={"Cache-Control": "no-store"})
