"""Instruments on the page: the HTMX results fragment (with the URL to push) and the chart.

The JSON API of the instruments is `instruments_api`, derived from their specs."""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from dataclasses import replace
from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse

from app.errors import BadInput
from app.web.chapter_page import chapter_context
from app.web.dependencies import find_chapter, find_instrument
from app.web.explorations import record_instrument_view
from app.web.htmx import is_htmx, render
from app.web.instrument_views import compute_view, drawn, fields_for, state_query
from app.web.state import AppState, app_state

router = APIRouter()


@router.get("/chapters/{slug}/instruments/{instrument_id}", response_class=HTMLResponse, include_in_schema=False)
async def instrument_results(
    slug: str, instrument_id: str, request: Request, state: AppState = Depends(app_state)
) -> HTMLResponse:
    """HTMX: the results of one instrument, and the chapter URL that reopens this state."""
    chapter = find_chapter(state, slug)
    instrument = find_instrument(chapter, instrument_id)
    fields = fields_for(instrument, request.query_params.multi_items())
    view = compute_view(instrument, fields, state.charts)
    if not is_htmx(request):
        view = await drawn(view, state.charts)
        context = await chapter_context(
            state, request, chapter, state.learners.read(request), instrument_views={instrument.id: view}
        )
        return render(request, state.templates, "chapter.html", context, status_code=view.status_code)
    # The numbers now; a chart not drawn yet is fetched by the fragment itself (see chart below).
    chart_url = None
    if view.error is None:
        chart_url = (
            f"/chapters/{chapter.slug}/instruments/{instrument.id}/chart?{state_query(instrument, view.params, None)}"
        )
    context = {"chapter": chapter, "instrument": instrument, "view": view, "chart_url": chart_url}
    response = render(request, state.templates, "_instrument_results.html", context, status_code=view.status_code)
    if view.error is None:
        query = state_query(instrument, view.params, request.headers.get("HX-Current-URL"))
        response.headers["HX-Push-Url"] = f"/chapters/{chapter.slug}?{query}"
        await record_instrument_view(state, request, instrument.id, state_query(instrument, view.params, None))
    return response


async def render_unless_abandoned(request: Request, rendering: Coroutine[Any, Any, str | None]) -> str | None:
    """Await a chart, giving up (and withdrawing from its render) if the client goes away."""
    task = asyncio.ensure_future(rendering)
    while True:
        done, _ = await asyncio.wait({task}, timeout=0.25)
        if done:
            return task.result()
        if await request.is_disconnected():
            task.cancel()
            return None


@router.get("/chapters/{slug}/instruments/{instrument_id}/chart", response_class=HTMLResponse, include_in_schema=False)
async def instrument_chart(
    slug: str, instrument_id: str, request: Request, state: AppState = Depends(app_state)
) -> HTMLResponse:
    """The chart of one instrument state, drawn in the renderer process without stalling the server."""
    chapter = find_chapter(state, slug)
    instrument = find_instrument(chapter, instrument_id)
    view = compute_view(instrument, fields_for(instrument, request.query_params.multi_items()), state.charts)
    if view.error is not None:
        raise BadInput(view.error.message, field=view.error.field)
    svg = view.chart_svg
    if svg is None and view.chart_key is not None:
        svg = await render_unless_abandoned(request, state.charts.render(view.chart_key))
        if svg is None and await request.is_disconnected():
            return HTMLResponse("", status_code=204)  # the student moved on; nobody reads this
    context = {"instrument": instrument, "view": replace(view, chart_svg=svg), "chart_url": None}
    response = render(request, state.templates, "_instrument_chart.html", context)
    response.headers["Cache-Control"] = "public, max-age=3600"  # a state's chart never changes
    return response
