"""Golden fixtures: each plugin's Markdown input and the exact HTML it renders to.

Regenerate after an intended change with UPDATE_GOLDEN=1 and review the diff.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from app.content.markdown import build_markdown
from app.content.plugins.directive import SENTINEL
from app.instruments.catalog import INSTRUMENT_CATALOG

GOLDEN = Path(__file__).parent / "fixtures" / "golden"
CASES = sorted(p.stem for p in GOLDEN.glob("*.md"))


def render(name: str) -> str:
    md = build_markdown(INSTRUMENT_CATALOG)
    env = {"chapter_number": 6, "line_offset": 0}
    html = md.render((GOLDEN / f"{name}.md").read_text(), env)
    problems = "".join(f"<!-- problem {line}: {message} -->\n" for line, message in env.get("problems", []))
    return html.replace(SENTINEL, "⟦placeholder⟧") + problems


@pytest.mark.parametrize("name", CASES)
def test_golden(name: str) -> None:
    expected_path = GOLDEN / f"{name}.html"
    actual = render(name)
    if os.environ.get("UPDATE_GOLDEN"):
        expected_path.write_text(actual)
    assert actual == expected_path.read_text()


def test_there_are_golden_cases() -> None:
    assert {"math", "sections", "table", "callout", "directives"} <= set(CASES)
