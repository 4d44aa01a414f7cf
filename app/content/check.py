"""`textbook check`: every authoring problem in the content, and every snippet run for real."""

from __future__ import annotations

from collections.abc import Callable

from app.config import Settings
from app.content.loader import ChapterLibrary
from app.content.markdown import build_markdown
from app.content.model import Problem, Snippet
from app.content.plugins.snippet import FENCE_WORD as SNIPPET_FENCE
from app.instruments.catalog import INSTRUMENT_CATALOG
from app.runner import run_snippets_sync

# What a run of a snippet produced: (status, stdout, stderr, figure count).
Outcome = tuple[str, str, str, int]
# Every snippet's code -> their outcomes, in order (one warm pool for the whole book).
BatchRunner = Callable[[list[str]], list[Outcome]]


def snippet_problems(path: str, snippet: Snippet, outcome: Outcome) -> list[Problem]:
    status, stdout, stderr, figures = outcome
    where = f"{SNIPPET_FENCE} '{snippet.id}'"  # named as the author wrote it
    if status != "ok":
        last = stderr.strip().splitlines()[-1] if stderr.strip() else "no message"
        return [Problem(path, snippet.line, f"{where} failed ({status}): {last}")]
    problems = []
    for line in snippet.expect:
        if line not in stdout:
            problems.append(Problem(path, snippet.line, f"{where}: expected output line not printed: {line!r}"))
    if figures != snippet.expect_figures:
        problems.append(
            Problem(path, snippet.line, f"{where}: expected {snippet.expect_figures} figure(s), got {figures}")
        )
    return problems


def check_content(settings: Settings, run_snippets: bool = True, runner: BatchRunner | None = None) -> list[Problem]:
    library = ChapterLibrary(settings.content_dir, build_markdown(INSTRUMENT_CATALOG))
    if not any(library.content_dir.glob("vol*/*.md")):
        return [Problem(str(settings.content_dir), 0, "no chapters found (expected files like vol2/06-fine-tuning.md)")]
    problems = library.problems()
    if run_snippets:
        placed = [(library.display_path(c), s) for c in library.chapters() for s in c.snippets]
        outcomes = (runner or sandbox_runner(settings))([s.code for _, s in placed])
        for (path, snippet), outcome in zip(placed, outcomes, strict=True):
            problems += snippet_problems(path, snippet, outcome)
    return problems


def sandbox_runner(settings: Settings) -> BatchRunner:
    """Run snippets exactly as students do: in the sandbox, with the server's limits."""

    def run(codes: list[str]) -> list[Outcome]:
        results = run_snippets_sync(codes, settings.runner_limits(), allow_unsafe=settings.runner_allow_unsafe)
        return [(r.status, r.stdout, r.stderr, len(r.figures)) for r in results]

    return run
