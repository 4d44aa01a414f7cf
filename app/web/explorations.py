"""Recording what learners do for the class's stats: instrument settings explored, snippets run.

A failing database costs only the record (logged), never the learner's request."""

from __future__ import annotations

import asyncio
import logging

from fastapi import Request

from app.storage import StoreUnavailable
from app.web.state import AppState

log = logging.getLogger(__name__)


async def record_instrument_view(state: AppState, request: Request, instrument_id: str, settings: str) -> None:
    """One instrument state a learner looked at; ``settings`` is that instrument's own URL state."""
    try:
        await asyncio.to_thread(
            state.store.record_instrument_view, state.learners.read(request), instrument_id, settings
        )
    except StoreUnavailable:
        log.warning("instrument view of %s not recorded: the progress database is unavailable", instrument_id)


async def record_snippet_run(
    state: AppState, learner_id: str, snippet_id: str, status: str, edited_code: str | None
) -> None:
    """One run of a chapter's snippet (its code kept only when the learner edited it, for their notebook)."""
    try:
        await asyncio.to_thread(state.store.record_snippet_run, learner_id, snippet_id, status, edited_code)
    except StoreUnavailable:
        log.warning("snippet run of %s not recorded: the progress database is unavailable", snippet_id)
