"""`textbook check`: every authoring problem in the content, and every snippet run for real."""

from __future__ import annotations

from collections.abc import Callable

from app.config import Settings
from app.content.loader import ChapterLibrary
from app.content.markdown import build_markdown
from app.content.model import Chapter, Problem, Snippet
from app.instruments.catalog import INSTRUMENT_CATALOG

# code -> (status, stdout, stderr, figure count)
SnippetRunner = Callable[[str], tuple[str, str, str, int]]


def snippet_problems(path: str, snippet: Snippet, run: SnippetRunner) -> list[Problem]:
    status, stdout, stderr, figures = run(snippet.code)
    where = f"runnable '{snippet.id}'"
    if status != "ok":
        last = stderr.strip().splitlines()[-1] if stderr.strip() else "no message"
        return [Problem(path, snippet.line, f"{where} failed ({status}): {last}")]
    problems = []
    for line in snippet.expect:
        if line not in stdout:
            problems.append(Problem(path, snippet.line, f"{where}: expected output line not printed: {line!r}"))
    if figures != snippet.expect_figures:
        problems.append(Problem(path, snippet.line, f"{where}: expected {snippet.expect_figures} figure(s), got {figures}"))
    return problems


def chapter_snippet_problems(chapter: Chapter, display_path: str, run: SnippetRunner) -> list[Problem]:
    return [p for snippet in chapter.snippets for p in snippet_problems(display_path, snippet, run)]


def check_content(settings: Settings, run_snippets: bool = True, runner: SnippetRunner | None = None) -> list[Problem]:
    library = ChapterLibrary(settings.content_dir, build_markdown(INSTRUMENT_CATALOG))
    if not any(library.content_dir.glob("vol*/*.md")):
        return [Problem(str(settings.content_dir), 0, "no chapters found (expected files like vol2/06-fine-tuning.md)")]
    problems = library.problems()
    if run_snippets:
        run = runner or sandbox_runner(settings)
        for chapter in library.chapters():
            problems += chapter_snippet_problems(chapter, library.display_path(chapter), run)
    return problems


def sandbox_runner(settings: Settings) -> SnippetRunner:
    """Run snippets exactly as students do: in the sandbox, with the server's limits."""
    from app.main import runner_limits
    from app.runner.pool import run_snippet_sync

    limits = runner_limits(settings)

    def run(code: str) -> tuple[str, str, str, int]:
        result = run_snippet_sync(code, limits, allow_unsafe=settings.runner_allow_unsafe)
        return result.status, result.stdout, result.stderr, len(result.figures)

    return run
