"""What route handlers look up before they start: the chapter a URL names."""

from __future__ import annotations

from app.content.model import Chapter
from app.errors import NotFound
from app.web.state import AppState


def find_chapter(state: AppState, slug: str) -> Chapter:
    """The chapter called `slug`, or a 404 that points the student to the index."""
    chapter = state.library.chapter(slug)
    if chapter is None:
        raise NotFound(f"There is no chapter called “{slug}”. The index lists the chapters that exist.")
    return chapter
