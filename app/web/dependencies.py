"""What route handlers look up before they start: the chapter a URL names, and the
exercise, snippet or instrument in it (each missing one is a 404 that says what is
missing); and the site's public origin for absolute links."""

from __future__ import annotations

from typing import TypeVar

from starlette.requests import Request

from app.config import Settings
from app.content.model import Chapter, Exercise, InstrumentRef, Snippet
from app.errors import NotFound
from app.web.state import AppState

Part = TypeVar("Part")


def public_origin(settings: Settings, request: Request) -> str:
    """`TEXTBOOK_PUBLIC_URL` when set (behind a proxy), else the origin the request came to; no trailing /."""
    return settings.public_url.rstrip("/") if settings.public_url else str(request.base_url).rstrip("/")


def find_chapter(state: AppState, slug: str) -> Chapter:
    """The chapter called `slug`, or a 404 that points the student to the index."""
    chapter = state.library.chapter(slug)
    if chapter is None:
        raise NotFound(f"There is no chapter called “{slug}”. The index lists the chapters that exist.")
    return chapter


def find_exercise(chapter: Chapter, exercise_id: str) -> Exercise:
    return _present(chapter.exercise(exercise_id), chapter, "exercise", exercise_id)


def find_snippet(chapter: Chapter, snippet_id: str) -> Snippet:
    return _present(chapter.snippet(snippet_id), chapter, "snippet", snippet_id)


def find_instrument(chapter: Chapter, instrument_id: str) -> InstrumentRef:
    return _present(chapter.instrument(instrument_id), chapter, "instrument", instrument_id)


def _present(part: Part | None, chapter: Chapter, kind: str, part_id: str) -> Part:
    if part is None:
        raise NotFound(f"Chapter “{chapter.title}” has no {kind} “{part_id}”.")
    return part
