"""The JSON API for chapters, and /healthz."""

from __future__ import annotations

import asyncio

from fastapi import APIRouter, Depends
from fastapi.responses import JSONResponse
from pydantic import BaseModel

from app.content.model import Chapter
from app.errors import NotFound
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
    return ChapterSummary(slug=chapter.slug, title=chapter.title, volume=chapter.volume, number=chapter.number, reading_minutes=chapter.reading_minutes)


def describe(chapter: Chapter) -> ChapterOut:
    return ChapterOut(
        **summarize(chapter).model_dump(),
        sections=[SectionOut(id=s.id, number=s.number, title=s.title) for s in chapter.sections],
        exercises=[ExerciseOut(id=e.id, prompt=e.prompt) for e in chapter.exercises],
        snippets=[SnippetOut(id=s.id, code=s.code) for s in chapter.snippets],
        instruments=[InstrumentOut(id=i.id, name=i.name, number=i.number, title=i.title) for i in chapter.instruments],
    )


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


@router.get("/healthz", tags=["operations"], responses={503: {"description": "degraded: the content or the database is not available"}})
async def healthz(state: AppState = Depends(app_state)) -> JSONResponse:
    """The app version and the state of its parts; 503 when the book cannot be served.

    A runner without isolation is reported but is not unhealthy: the book, its exercises
    and instruments still work, and the page says why code does not run.
    """
    chapters = state.library.chapters()
    database_ok = await asyncio.to_thread(state.store.healthy)
    runner = state.runner.isolation.to_dict()
    ok = database_ok and bool(chapters)
    body = {
        "status": "ok" if ok else "degraded",
        "version": state.version,
        "parts": {
            # Problems in a file being edited: its last clean version is still served (see ChapterLibrary).
            "content": {"ok": bool(chapters), "chapters": len(chapters), "problems": len(state.library.problems())},
            "database": {"ok": database_ok, "backend": "sqlite" if state.store.is_sqlite else state.store.engine.dialect.name},
            "runner": runner,
        },
    }
    return JSONResponse(body, status_code=200 if ok else 503)


@router.get("/api/version", tags=["operations"])
async def version(state: AppState = Depends(app_state)) -> dict[str, str]:
    """The app version: the cheapest endpoint, used as the benchmarks' baseline."""
    return {"version": state.version}
