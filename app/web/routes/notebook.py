"""The chapter as a Jupyter notebook: `GET /chapters/{slug}/notebook.ipynb` (`?version=mine`: with my edits)."""

from __future__ import annotations

import asyncio

import nbformat
from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import Response

from app.content.notebook import chapter_notebook, notebook_filename
from app.web.dependencies import find_chapter
from app.web.state import AppState, app_state

router = APIRouter()

MEDIA_TYPE = "application/x-ipynb+json"


@router.get(
    "/chapters/{slug}/notebook.ipynb",
    response_class=Response,
    include_in_schema=False,  # a download from the page, answered (and refused) like the page
)
async def download_notebook(
    slug: str,
    request: Request,
    version: str = Query(
        "chapter", pattern="^(chapter|mine)$", description="mine: each snippet as this learner last ran it"
    ),
    state: AppState = Depends(app_state),
) -> Response:
    """The chapter as a notebook: prose as Markdown (math as LaTeX), every snippet a code cell."""
    chapter = find_chapter(state, slug)
    edits: dict[str, str] = {}
    learner = state.learners.read(request)
    if version == "mine" and learner:
        edits = await asyncio.to_thread(state.store.last_snippet_code, learner, [s.id for s in chapter.snippets])
    chapter_url = str(request.url_for("chapter_page", slug=chapter.slug))
    notebook = chapter_notebook(chapter, chapter_url, edits)
    filename = notebook_filename(chapter, mine=version == "mine")
    return Response(
        nbformat.writes(notebook),
        media_type=MEDIA_TYPE,
        headers={"Content-Disposition": f'attachment; filename="{filename}"', "Cache-Control": "no-store"},
    )
