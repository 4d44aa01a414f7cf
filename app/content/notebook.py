"""A chapter as a Jupyter notebook to take home (nbformat 4).

The chapter's prose becomes Markdown cells (math kept as LaTeX, which Jupyter
renders); each snippet becomes a code cell, the learner's own edit in its
place when they ask for their version; exercises become Markdown cells with their
question; instruments a Markdown cell that links back to the live instrument. The
first code cell defines ``plot_xy`` exactly as the sandbox does (its source is read
from ``app/runner/executor.py``, so there is one definition), so every snippet runs in
a plain kernel with NumPy and matplotlib.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Mapping
from functools import cache
from pathlib import Path

import nbformat
import yaml
from markdown_it import MarkdownIt
from nbformat.notebooknode import NotebookNode

from app.content.frontmatter import split_front_matter
from app.content.model import Chapter
from app.content.plugins.claims import plain_numbers
from app.content.plugins.snippet import FENCE_WORD as SNIPPET_FENCE

__all__ = ["chapter_notebook", "notebook_filename"]

_EXECUTOR = Path(__file__).resolve().parent.parent / "runner" / "executor.py"
_DISPLAY_LABEL = re.compile(r"^\$\$\s*\((.+)\)\s*$")  # "$$ (LoRA)": the closing line of a numbered equation
_CALLOUT = re.compile(r"^callout\s+(\w+)\s*(.*)$")


@cache
def plot_xy_source() -> str:
    """The sandbox's own ``plot_xy``, as source text."""
    text = _EXECUTOR.read_text()
    for node in ast.parse(text).body:
        if isinstance(node, ast.FunctionDef) and node.name == "plot_xy":
            segment = ast.get_source_segment(text, node)
            assert segment is not None
            return segment
    raise LookupError("app/runner/executor.py defines no plot_xy")


def notebook_filename(chapter: Chapter, mine: bool) -> str:
    return f"{chapter.volume}-{chapter.number:02d}-{chapter.slug}{'-my-version' if mine else ''}.ipynb"


def chapter_notebook(chapter: Chapter, chapter_url: str, edits: Mapping[str, str] | None = None) -> NotebookNode:
    """The chapter as a notebook; ``edits`` maps snippet ids to the learner's own code."""
    edits = edits or {}
    source = Path(chapter.path).read_text(encoding="utf-8")
    front, body, _ = split_front_matter(source)
    lede = (yaml.safe_load(front) or {}).get("lede", "") if front else ""
    cells = [
        nbformat.v4.new_markdown_cell(_heading(chapter, chapter_url, bool(edits), str(lede))),
        nbformat.v4.new_code_cell(_setup_cell()),
    ]
    snippets = iter(chapter.snippets)
    exercises = iter(chapter.exercises)
    instruments = iter(chapter.instruments)
    exercise_number = 0
    prose: list[str] = []

    def flush() -> None:
        text = plain_numbers("\n".join(prose)).strip()  # a computed number's mark is for `textbook check`
        if text:
            cells.append(nbformat.v4.new_markdown_cell(text))
        prose.clear()

    lines = body.splitlines()
    position = 0
    for token in MarkdownIt("commonmark").parse(body):
        if token.type != "fence" or token.level != 0 or token.map is None:
            continue
        start, end = token.map
        prose.extend(_prose(lines[position:start]))
        position = end
        kind = token.info.split()[0] if token.info.split() else ""
        if kind == SNIPPET_FENCE:
            flush()
            snippet = next(snippets)
            title = f"# {snippet.title}\n" if snippet.title and not snippet.code.lstrip().startswith("#") else ""
            code = edits.get(snippet.id, snippet.code)
            mine = "# (your edited version)\n" if snippet.id in edits else ""
            cells.append(
                nbformat.v4.new_code_cell(
                    mine + title + code.rstrip() + "\n", metadata={"textbook": {"snippet": snippet.id}}
                )
            )
        elif kind == "exercise":
            exercise = next(exercises)
            exercise_number += 1
            prose.append(
                f"\n> **Exercise {chapter.number}.{exercise_number}.** {exercise.prompt}\n>\n"
                f"> Answer it online: [{chapter_url}#ex-{exercise.id}]({chapter_url}#ex-{exercise.id})\n"
            )
        elif kind == "instrument":
            instrument = next(instruments)
            prose.append(
                f"\n> **Instrument {instrument.number} — {instrument.title}.** {instrument.subtitle}. "
                f"Interactive in the online chapter: [{chapter_url}#{instrument.id}]({chapter_url}#{instrument.id})\n"
            )
        elif (callout := _CALLOUT.match(token.info.strip())) is not None:
            title = callout.group(2).strip() or callout.group(1).capitalize()
            quoted = "\n".join(f"> {line}" if line else ">" for line in token.content.rstrip().splitlines())
            prose.append(f"\n> **{title}**\n>\n{quoted}\n")
        else:
            prose.extend(lines[start:end])
    prose.extend(_prose(lines[position:]))
    flush()
    notebook = nbformat.v4.new_notebook(
        cells=cells,
        metadata={
            "kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"},
            "language_info": {"name": "python"},
            "textbook": {"chapter": chapter.slug, "title": chapter.title, "my_version": bool(edits)},
        },
    )
    nbformat.validate(notebook)
    return notebook


def _heading(chapter: Chapter, chapter_url: str, mine: bool, lede: str) -> str:
    version = " — your version, with the snippets as you last ran them" if mine else ""
    return (
        f"# {chapter.number:02d} {chapter.title}{version}\n\n"
        f"{plain_numbers(lede).strip()}\n\n"
        f"*AI // Encyclopedia, Volume {chapter.volume}, Chapter {chapter.number}.* "
        f"The interactive chapter, with its instruments and graded exercises: [{chapter_url}]({chapter_url})\n\n"
        "Run the cells top to bottom: the first one defines `plot_xy`, the helper every snippet may use."
    )


def _setup_cell() -> str:
    return (
        "# plot_xy(x, y): the quick line plot the chapter's snippets use (the same function as online)\n"
        "from typing import Any\n\n"
        "import matplotlib.pyplot as plt\n\n\n"
        f"{plot_xy_source()}\n"
    )


def _prose(lines: list[str]) -> list[str]:
    """Markdown as Jupyter reads it: a numbered equation's "$$ (Label)" closes as plain "$$"."""
    out = []
    for line in lines:
        label = _DISPLAY_LABEL.match(line)
        out.append("$$" if label else line)
    return out
