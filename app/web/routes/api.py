"""The JSON API for chapters and a learner's progress; /healthz (alive) and /readyz (send me work)."""

from __future__ import annotations

import asyncio

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field
from sqlalchemy.exc import SQLAlchemyError

from app.content.model import Chapter
from app.errors import NotFound
from app.schema import schema_problem
from app.web.errors import api_errors
from app.web.state import AppState, app_state

router = APIRouter()


class SectionOut(BaseModel):
    id: str
    number: str | None
    title: str


class ExerciseOut(BaseModel):
    id: str
    prompt: str


class SnippetOut(BaseModel):
    id: str
    code: str


class InstrumentOut(BaseModel):
    id: str
    name: str
    number: str
    title: str


class ChapterSummary(BaseModel):
    slug: str
    title: str
    volume: int
    number: int
    reading_minutes: int


class ChapterOut(ChapterSummary):
    sections: list[SectionOut]
    exercises: list[ExerciseOut]
    snippets: list[SnippetOut]
    instruments: list[InstrumentOut]


def summarize(chapter: Chapter) -> ChapterSummary:
    return ChapterSummary(
        slug=chapter.slug,
        title=chapter.title,
        volume=chapter.volume,
        number=chapter.number,
        reading_minutes=chapter.reading_minutes,
    )


def describe(chapter: Chapter) -> ChapterOut:
    return ChapterOut(
        **summarize(chapter).model_dump(),
        sections=[SectionOut(id=s.id, number=s.number, title=s.title) for s in chapter.sections],
        exercises=[ExerciseOut(id=e.id, prompt=e.prompt) for e in chapter.exercises],
        snippets=[SnippetOut(id=s.id, code=s.code) for s in chapter.snippets],
        instruments=[InstrumentOut(id=i.id, name=i.name, number=i.number, title=i.title) for i in chapter.instruments],
    )


class ExerciseProgressOut(BaseModel):
    id: str
    attempts: int = Field(description="answers submitted (0: never tried)")
    solved: bool = Field(description="answered correctly at least once")
    last_answer: str | None = Field(description="the last answer as typed, or null")
    last_verdict: str | None = Field(description="`correct`, `incorrect` or `unreadable`, or null")


class ChapterProgressOut(BaseModel):
    slug: str
    solved: int
    total: int
    exercises: list[ExerciseProgressOut]


class ProgressOut(BaseModel):
    chapters: list[ChapterProgressOut]


@router.get("/api/chapters", response_model=list[ChapterSummary], tags=["chapters"])
async def list_chapters(state: AppState = Depends(app_state)) -> list[ChapterSummary]:
    """Every published chapter, in volume and chapter order."""
    return [summarize(c) for c in state.library.chapters()]


@router.get("/api/chapters/{slug}", response_model=ChapterOut, tags=["chapters"], responses=api_errors(404, 422))
async def get_chapter(slug: str, state: AppState = Depends(app_state)) -> ChapterOut:
    """A chapter's structure: sections, exercises, snippets and instruments in reading order."""
    chapter = state.library.chapter(slug)
    if chapter is None:
        raise NotFound(f"There is no chapter called “{slug}”.")
    return describe(chapter)


@router.get("/api/progress", response_model=ProgressOut, tags=["progress"], responses=api_errors(503))
async def get_progress(request: Request, state: AppState = Depends(app_state)) -> ProgressOut:
    """This learner's progress (the `learner` cookie) in every chapter, from the shared database.

    A request without a valid learner cookie is a learner who has done nothing yet (no
    cookie is set). 503 when the database cannot be read.
    """
    chapters = state.library.chapters()
    learner_id = state.learners.read(request)
    exercise_ids = [exercise.id for chapter in chapters for exercise in chapter.exercises]
    records = await asyncio.to_thread(state.store.records, learner_id, exercise_ids) if learner_id else {}
    out = []
    for chapter in chapters:
        exercises = []
        for exercise in chapter.exercises:
            record = records.get(exercise.id)
            exercises.append(
                ExerciseProgressOut(
                    id=exercise.id,
                    attempts=record.attempts if record else 0,
                    solved=bool(record and record.solved),
                    last_answer=record.last.answer if record else None,
                    last_verdict=record.last.verdict if record else None,
                )
            )
        out.append(
            ChapterProgressOut(
                slug=chapter.slug, solved=sum(e.solved for e in exercises), total=len(exercises), exercises=exercises
            )
        )
    return ProgressOut(chapters=out)


@router.get(
    "/healthz",
    tags=["operations"],
    responses={503: {"description": "degraded: the content or the database is not available"}},
)
async def healthz(state: AppState = Depends(app_state)) -> JSONResponse:
    """The app version and the state of its parts; 503 when the book cannot be served.

    A runner without isolation, or runner services none of which answers, is reported (each
    runner service's state under `parts.runner.runners`) but is not unhealthy: the book, its
    exercises and instruments still work, and the page says why code does not run.
    """
    chapters = state.library.chapters()
    database_ok = await asyncio.to_thread(state.store.healthy)
    runner = state.runner.health()
    ok = database_ok and bool(chapters)
    body = {
        "status": "ok" if ok else "degraded",
        "version": state.version,
        "parts": {
            # Problems in a file being edited: its last clean version is still served (see ChapterLibrary).
            "content": {"ok": bool(chapters), "chapters": len(chapters), "problems": len(state.library.problems())},
            "database": {
                "ok": database_ok,
                "backend": "sqlite" if state.store.is_sqlite else state.store.engine.dialect.name,
            },
            "runner": runner,
            # Like the runner: reported, not unhealthy (every page also works without JavaScript).
            "assets": {"ok": not state.missing_assets, "missing": state.missing_assets},
        },
    }
    return JSONResponse(body, status_code=200 if ok else 503)


def _database_problem(state: AppState) -> str | None:
    try:
        return schema_problem(state.store.engine)
    except SQLAlchemyError as error:
        return f"the database does not answer: {type(getattr(error, 'orig', None) or error).__name__}"


@router.get(
    "/readyz",
    tags=["operations"],
    responses={
        503: {"description": "not ready: starting, draining, the database down or behind, or the runner pool down"}
    },
)
async def readyz(state: AppState = Depends(app_state)) -> JSONResponse:
    """Whether this replica should be sent work: the balancer's and Kubernetes' readiness check.

    503 while starting, from the moment SIGTERM starts draining, while the runner pool is
    down, and until the database has answered once with a schema current for this code.
    A later database outage is shared by every replica, so it is reported under
    `degraded` without taking the replica out: pages still read and answers get
    503 "not saved" in place. A runner without isolation is up (pages say why).
    """
    problems: list[str] = []
    degraded: list[str] = []
    lifecycle = state.lifecycle
    if (not_ready := lifecycle.not_ready_because()) is not None:
        problems.append(not_ready)
    else:
        if not state.runner.is_up:
            problems.append("the runner pool is not up")
        database = await asyncio.to_thread(_database_problem, state)
        if database is None:
            lifecycle.database_seen = True
        else:
            (degraded if lifecycle.database_seen else problems).append(database)
    # Every runner's state too: runner services that do not answer leave the replica ready
    # (it still serves the book; the page says code cannot run), but the operator sees them here.
    body = {
        "status": "ready" if not problems else "not ready",
        "problems": problems,
        "degraded": degraded,
        "runner": state.runner.health(),
    }
    return JSONResponse(body, status_code=200 if not problems else 503)


@router.get("/api/version", tags=["operations"])
async def version(state: AppState = Depends(app_state)) -> dict[str, str]:
    """The app version: the cheapest endpoint, used as the benchmarks' baseline."""
    return {"version": state.version}
