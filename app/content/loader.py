"""Discover chapters under content/, render them once, and rebuild one when its file changes.

An edit that introduces problems never takes a chapter that loaded cleanly offline:
students keep the last clean version while the problems are logged, reported by
`problems()` (and so `textbook check` and `/healthz`), until the file is fixed.
"""

from __future__ import annotations

import logging
import re
import threading
from collections.abc import Mapping
from dataclasses import dataclass, replace
from pathlib import Path

from markdown_it import MarkdownIt

from app.content.claims import claim_problems
from app.content.frontmatter import parse_front_matter, split_front_matter
from app.content.instrument_links import link_problems
from app.content.model import (
    DIRECTIVE_KINDS,
    Block,
    Chapter,
    ChapterLink,
    DirectiveBlock,
    Exercise,
    ExerciseVariant,
    HtmlBlock,
    Problem,
)
from app.content.plugins.directive import SENTINEL, DocumentEnv, render_document
from app.content.reading import count_words, estimate_reading_minutes
from app.content.variants import render_variant

log = logging.getLogger(__name__)

_PLACEHOLDER = re.compile(f"{SENTINEL}({'|'.join(DIRECTIVE_KINDS)}):([^{SENTINEL}]*){SENTINEL}")
CHAPTER_GLOB = "vol*/*.md"


def split_blocks(html: str) -> tuple[Block, ...]:
    blocks: list[Block] = []
    position = 0
    for match in _PLACEHOLDER.finditer(html):
        if match.start() > position:
            blocks.append(HtmlBlock(html[position : match.start()]))
        if match.group(2):  # an invalid directive renders nothing
            blocks.append(DirectiveBlock(kind=DIRECTIVE_KINDS[match.group(1)], id=match.group(2)))
        position = match.end()
    if position < len(html):
        blocks.append(HtmlBlock(html[position:]))
    return tuple(blocks)


def load_chapter(path: Path, md: MarkdownIt, display_path: str | None = None) -> tuple[Chapter | None, list[Problem]]:
    """Parse one chapter file. Returns the chapter (None if it cannot be built) and every problem found."""
    shown = display_path or str(path)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        return None, [Problem(shown, 1, f"cannot read the chapter: {exc}")]
    source, body, offset = split_front_matter(text)
    front, field_problems = parse_front_matter(source)
    problems = [Problem(shown, p.line, p.message) for p in field_problems]
    if front is None:
        return None, problems
    env: DocumentEnv = {"chapter_number": front.number, "line_offset": offset}
    html = render_document(md, body, env)
    lede_env: DocumentEnv = {"chapter_number": front.number, "line_offset": 1, "nested": True}
    lede_html = render_document(md, front.lede, lede_env)
    problems += [
        Problem(shown, line, message) for line, message in env.get("problems", []) + lede_env.get("problems", [])
    ]
    blocks = split_blocks(html)
    exercises = tuple(env.get("exercises", []))
    snippets = tuple(env.get("snippets", []))
    instruments = tuple(env.get("instruments", []))
    refs = {i.id: i for i in instruments}
    for exercise in exercises:
        if exercise.instrument_link is not None:
            params = exercise.recipe.canonical if exercise.recipe else {}
            for message in link_problems(exercise.instrument_link, refs, exercise.answer_key, params):
                problems.append(Problem(shown, exercise.line, f"exercise '{exercise.id}': {message}"))
    by_id = {s.id: s for s in snippets}
    for claim in env.get("claims", []) + lede_env.get("claims", []):
        problems += [Problem(shown, claim.line, message) for message in claim_problems(claim, by_id, refs)]
    problems.sort(key=lambda p: p.line)
    words = count_words(html) + sum(count_words(e.prompt_html + e.solution_html) for e in exercises)
    nxt = front.next
    chapter = Chapter(
        path=str(path),
        slug=front.slug,
        volume=front.volume,
        number=front.number,
        chapters_in_volume=front.chapters_in_volume,
        title=front.title,
        kicker=front.kicker,
        lede_html=lede_html,
        builds_on=front.builds_on,
        reading_minutes=estimate_reading_minutes(words, len(exercises), len(snippets), len(instruments)),
        next_announced=ChapterLink(slug=nxt.get("slug"), number=nxt["number"], title=nxt["title"]) if nxt else None,
        sections=tuple(env.get("sections", [])),
        equations=tuple(env.get("equations", [])),
        exercises=exercises,
        snippets=snippets,
        instruments=instruments,
        blocks=blocks,
    )
    return chapter, problems


@dataclass(frozen=True)
class _Entry:
    mtime_ns: int
    chapter: Chapter | None  # what is served: the file as it is, or its last clean version
    problems: tuple[Problem, ...]  # of the file as it is now
    clean: bool = False  # the served chapter loaded without problems


class ChapterLibrary:
    """All chapters under a content directory, cached and rebuilt when their file changes."""

    def __init__(self, content_dir: Path, md: MarkdownIt) -> None:
        self.content_dir = content_dir
        self._md = md
        self._entries: dict[Path, _Entry] = {}
        self._lock = threading.Lock()

    def display_path(self, chapter: Chapter) -> str:
        return self._display(Path(chapter.path))

    def _display(self, path: Path) -> str:
        """The path as `textbook check` prints it: relative to the project, like `content/vol2/06-x.md`."""
        root = self.content_dir.parent
        return str(path.relative_to(root)) if path.is_relative_to(root) else str(path)

    def _paths(self) -> list[Path]:
        return sorted(self.content_dir.glob(CHAPTER_GLOB))

    def _entry(self, path: Path) -> _Entry:
        try:
            mtime = path.stat().st_mtime_ns
        except OSError:
            return _Entry(0, None, (Problem(str(path), 1, "the chapter file disappeared"),))
        entry = self._entries.get(path)
        if entry is not None and entry.mtime_ns == mtime:
            return entry
        with self._lock:
            entry = self._entries.get(path)
            if entry is None or entry.mtime_ns != mtime:
                entry = self._reload(path, mtime, entry)
                self._entries[path] = entry
        return entry

    def _reload(self, path: Path, mtime: int, previous: _Entry | None) -> _Entry:
        chapter, problems = load_chapter(path, self._md, self._display(path))
        for problem in problems:
            log.warning("content problem: %s", problem)
        if problems and previous is not None and previous.clean:
            log.warning("%s: still serving its last clean version until these problems are fixed", self._display(path))
            return _Entry(mtime, previous.chapter, tuple(problems), clean=True)
        if chapter is not None:
            chapter = replace(chapter, mtime_ns=mtime)
        return _Entry(mtime, chapter, tuple(problems), clean=chapter is not None and not problems)

    def chapters(self) -> list[Chapter]:
        """Every chapter that builds, in volume and chapter order."""
        found = [e.chapter for e in map(self._entry, self._paths()) if e.chapter is not None]
        return sorted(found, key=lambda c: (c.volume, c.number))

    def chapter(self, slug: str) -> Chapter | None:
        return next((c for c in self.chapters() if c.slug == slug), None)

    def problems(self) -> list[Problem]:
        """Every authoring problem in every chapter, plus clashes between chapters."""
        found: list[Problem] = []
        seen_slugs: dict[str, str] = {}
        seen_ids: dict[str, tuple[str, str]] = {}  # id -> (the file that used it first, its kind)
        for path in self._paths():
            entry = self._entry(path)
            found.extend(entry.problems)
            chapter = entry.chapter
            if chapter is None:
                continue
            shown = self._display(path)
            if chapter.slug in seen_slugs:
                found.append(Problem(shown, 1, f"slug '{chapter.slug}' is already used by {seen_slugs[chapter.slug]}"))
            seen_slugs.setdefault(chapter.slug, shown)
            # Exercise, snippet and instrument ids share one namespace across the book: they
            # are URL and DOM ids, progress keys and API ids, so a clash would cross wires.
            parts = [("exercise", e.id, e.line) for e in chapter.exercises]
            parts += [("snippet", s.id, s.line) for s in chapter.snippets]
            parts += [("instrument", i.id, i.line) for i in chapter.instruments]
            for kind, part_id, line in sorted(parts, key=lambda part: part[2]):
                if part_id in seen_ids and seen_ids[part_id][0] != shown:
                    first_path, first_kind = seen_ids[part_id]
                    message = f"{kind} id '{part_id}' is already used by {first_kind} '{part_id}' in {first_path}"
                    found.append(Problem(shown, line, message))
                seen_ids.setdefault(part_id, (shown, kind))
        return found

    def find_exercise(self, exercise_id: str) -> tuple[Chapter, Exercise] | None:
        for chapter in self.chapters():
            exercise = chapter.exercise(exercise_id)
            if exercise is not None:
                return chapter, exercise
        return None

    def variant(self, exercise: Exercise, params: Mapping[str, float], variant_id: str | None) -> ExerciseVariant:
        """One practice variant of an exercise, rendered with this library's Markdown parser."""
        return render_variant(self._md, exercise, params, variant_id)

    def neighbours(self, chapter: Chapter) -> tuple[Chapter | None, Chapter | None]:
        """The previous and next published chapters of the same volume."""
        same_volume = [c for c in self.chapters() if c.volume == chapter.volume]
        index = next(i for i, c in enumerate(same_volume) if c.slug == chapter.slug)
        previous = same_volume[index - 1] if index > 0 else None
        following = same_volume[index + 1] if index + 1 < len(same_volume) else None
        return previous, following
