"""Pages: the volume index and a chapter."""

from __future__ import annotations

import asyncio

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, PlainTextResponse, RedirectResponse

from app.content.plugins.highlight import pygments_css
from app.web.chapter_page import chapter_context, saved_records
from app.web.dependencies import find_chapter
from app.web.exercise_progress import chapter_progress
from app.web.htmx import render
from app.web.instrument_views import view_from_pairs
from app.web.state import AppState, app_state
from app.web.static_files import IMMUTABLE, content_digest, hashed_name

router = APIRouter(include_in_schema=False)


@router.get("/", response_class=HTMLResponse)
async def index(request: Request, state: AppState = Depends(app_state)) -> HTMLResponse:
    learner = state.learners.read(request)
    chapters = state.library.chapters()
    entries = []
    unavailable = None
    for chapter in chapters:
        progress = None
        if chapter.exercises:
            records, note = await saved_records(state, learner, [e.id for e in chapter.exercises])
            unavailable = unavailable or note
            progress = None if note else chapter_progress(chapter, records)
        entries.append({"chapter": chapter, "progress": progress})
    volume = chapters[0].volume if chapters else 2
    context = {"chapters": entries, "volume": volume, "progress_unavailable": unavailable}
    return render(request, state.templates, "index.html", context)


@router.get("/chapters/{slug}", response_class=HTMLResponse)
async def chapter_page(slug: str, request: Request, state: AppState = Depends(app_state)) -> HTMLResponse:
    chapter = find_chapter(state, slug)
    learner = state.learners.read(request)
    # A shared link (or a no-JS instrument form) carries instrument settings in the query.
    pairs = request.query_params.multi_items()
    views = {
        i.id: view for i in chapter.instruments if (view := await view_from_pairs(i, pairs, state.charts)) is not None
    }
    status = 422 if any(v.error for v in views.values()) else 200
    context = await chapter_context(state, request, chapter, learner, instrument_views=views)
    return render(request, state.templates, "chapter.html", context, status_code=status)


@router.post("/progress/reset")
async def reset_progress(
    request: Request, next: str = Form("/"), state: AppState = Depends(app_state)
) -> RedirectResponse:
    learner = state.learners.read(request)
    if learner:
        await asyncio.to_thread(state.store.reset, learner)
    # Only ever redirect within this site.
    target = next if next.startswith("/") and not next.startswith("//") else "/"
    return RedirectResponse(target, status_code=303)


_PYGMENTS_CSS = pygments_css()
# The stylesheet is generated, so its hashed URL is fixed for the life of the process.
PYGMENTS_CSS_URL = f"/assets/{hashed_name('pygments.css', content_digest(_PYGMENTS_CSS.encode()))}"


@router.get(PYGMENTS_CSS_URL)
async def highlight_css() -> PlainTextResponse:
    return PlainTextResponse(_PYGMENTS_CSS, media_type="text/css", headers={"Cache-Control": IMMUTABLE})


@router.get("/assets/pygments.css")
async def highlight_css_unhashed() -> PlainTextResponse:
    return PlainTextResponse(_PYGMENTS_CSS, media_type="text/css", headers={"Cache-Control": "no-cache"})
