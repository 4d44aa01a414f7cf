"""The chapter page's context: the chapter plus this learner's state of every interactive part.

Every route that answers with the whole chapter (the page itself and the no-JS
form posts of exercises, instruments and snippets) builds its context here, passing
the one part it changed as an override. Like every store call from a route, the
read of saved attempts runs in a worker thread (`asyncio.to_thread`): the event
loop does the CPU work of a request and never waits on the database.
"""

from __future__ import annotations

import asyncio
from typing import Any

from fastapi import Request

from app.content.instrument_links import HIGHLIGHT, highlighted_figure
from app.content.model import Chapter
from app.storage import ExerciseRecord, StoreUnavailable
from app.web.exercise_progress import ExerciseState, chapter_progress, chapter_states
from app.web.instrument_views import InstrumentView, drawn, initial_view
from app.web.state import AppState

PROGRESS_UNAVAILABLE = (
    "Your saved answers could not be loaded just now, so the exercises show none of them. "
    "The chapter works as usual, but answers cannot be saved until the database is back."
)


async def saved_records(
    state: AppState, learner_id: str | None, exercise_ids: list[str]
) -> tuple[dict[str, ExerciseRecord], str | None]:
    """The learner's saved attempts, or none and a note to show when the database cannot be read.

    A page without its progress is still a page worth reading; only writes must fail loudly.
    """
    if not learner_id:
        return {}, None
    try:
        return await asyncio.to_thread(state.store.records, learner_id, exercise_ids), None
    except StoreUnavailable:
        return {}, PROGRESS_UNAVAILABLE


def exercise_numbers(chapter: Chapter) -> dict[str, str]:
    return {e.id: f"{chapter.number}.{i}" for i, e in enumerate(chapter.exercises, start=1)}


async def chapter_context(
    state: AppState,
    request: Request,
    chapter: Chapter,
    learner_id: str | None,
    *,
    exercise_states: dict[str, ExerciseState] | None = None,
    snippet_runs: dict[str, Any] | None = None,
    instrument_views: dict[str, InstrumentView] | None = None,
) -> dict[str, Any]:
    records, progress_unavailable = await saved_records(state, learner_id, [e.id for e in chapter.exercises])
    previous_chapter, next_chapter = state.library.neighbours(chapter)
    # Drawn and kept at startup, so normally no wait; drawn now if the renderer had to restart.
    views = {
        i.id: await drawn(initial_view(i, state.charts), state.charts, keep=True)
        for i in chapter.instruments
        if i.id not in (instrument_views or {})
    }
    views.update(instrument_views or {})
    return {
        "chapter": chapter,
        "previous_chapter": previous_chapter,
        "next_chapter": next_chapter,
        "exercise_numbers": exercise_numbers(chapter),
        "exercise_states": {
            **chapter_states(state.library, state.variant_ids, chapter, records),
            **(exercise_states or {}),
        },
        "progress": chapter_progress(chapter, records) if learner_id and not progress_unavailable else None,
        "snippet_runs": snippet_runs or {},
        "progress_unavailable": progress_unavailable,
        "instrument_views": views,
        "chart_url": None,  # whole pages carry their charts inline
        "runner_status": state.runner.isolation,
        "runner_reachable": state.runner.reachable,
        "runner_devices": state.runner.devices,
        "highlights": highlights(chapter, views, request.query_params.get(HIGHLIGHT)),
    }


def highlights(chapter: Chapter, views: dict[str, InstrumentView], exercise_id: str | None) -> dict[str, Any]:
    """A solution's link was followed: the instrument it opened shows the exercise's figure highlighted."""
    exercise = chapter.exercise(exercise_id) if exercise_id else None
    link = exercise.instrument_link if exercise else None
    view = views.get(link.instrument_id) if link else None
    if exercise is None or link is None or view is None or view.result is None:
        return {}
    try:
        figure = highlighted_figure(link, view.result, exercise.answer_key)
    except (AttributeError, KeyError, TypeError, ValueError):
        return {}
    return {link.instrument_id: {"exercise_number": exercise_numbers(chapter)[exercise.id], "figure": figure}}
