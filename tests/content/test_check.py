"""`textbook check` on broken fixture chapters: every problem, exactly, as path:line: message."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from app.config import Settings
from app.content.check import check_content, snippet_problems
from app.content.model import Snippet

BROKEN = Path(__file__).parent / "fixtures" / "broken"

EXPECTED = [
    "broken/vol1/01-broken.md:8: front matter: unknown field 'colour'",
    "broken/vol1/01-broken.md:13: math does not convert (an unbalanced brace or an incomplete command): \\frac{a}{",
    "broken/vol1/01-broken.md:13: math uses an unknown command \\notacommand: \\notacommand{x}",
    "broken/vol1/01-broken.md:15: exercise 'ex-a': the solution's final value '100 GB' disagrees with the answer 112",
    "broken/vol1/01-broken.md:22: duplicate id 'ex-a' (first used on line 15)",
    "broken/vol1/01-broken.md:29: exercise 'ex-b': missing 'prompt'",
    "broken/vol1/01-broken.md:29: exercise 'ex-b': unknown quantity 'apples' "
    "(use one of: bytes, parameters, percent, count, number)",
    "broken/vol1/01-broken.md:35: instrument: unknown name 'flux-capacitor' "
    "(known: deploy-memory, lora-counter, nf4-levels, quant-error, vram-fit)",
    "broken/vol1/01-broken.md:40: instrument 'lora-counter': r: must be between 1 and 256; got 9,999.",
    "broken/vol1/01-broken.md:47: runnable 'snip-bad': syntax error: '(' was never closed",
    "broken/vol1/01-broken.md:50: callout: unknown kind 'sidebar' (known: pitfalls, next, note, recipe)",
    "broken/vol1/02-no-front-matter.md:1: missing front matter (a YAML block between '---' lines at the top)",
    "broken/vol1/03-bad-fields.md:2: front matter: 'title' must be a non-empty string",
    "broken/vol1/03-bad-fields.md:3: front matter: 'volume' must be a positive whole number",
    "broken/vol1/03-bad-fields.md:6: front matter: 'slug' must be lower-case words joined by '-'",
]


def test_every_problem_is_reported_exactly() -> None:
    problems = check_content(Settings(content_dir=BROKEN), run_snippets=False)
    assert [str(p) for p in problems] == EXPECTED


def test_the_command_prints_problems_and_exits_non_zero() -> None:
    completed = subprocess.run(
        [sys.executable, "-m", "app.cli", "check", "--no-run", "--content-dir", str(BROKEN)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert completed.returncode == 1
    assert completed.stdout.splitlines() == EXPECTED
    assert "15 problems found" in completed.stderr


def test_an_empty_content_directory_is_a_problem(tmp_path: Path) -> None:
    problems = check_content(Settings(content_dir=tmp_path), run_snippets=False)
    assert len(problems) == 1 and "no chapters found" in problems[0].message


def test_snippet_output_is_compared_with_its_expectations() -> None:
    snippet = Snippet(
        id="s", title=None, code="print('hi')\n", code_html="", expect=("hello",), expect_figures=1, line=7
    )

    messages = [p.message for p in snippet_problems("c.md", snippet, ("ok", "hi\n", "", 0))]
    assert messages == [
        "runnable 's': expected output line not printed: 'hello'",
        "runnable 's': expected 1 figure(s), got 0",
    ]


def test_a_failing_snippet_reports_its_status_and_last_error_line() -> None:
    snippet = Snippet(id="s", title=None, code="1/0\n", code_html="", expect=(), expect_figures=0, line=3)

    outcome = ("error", "", "Traceback...\nZeroDivisionError: division by zero\n", 0)
    assert [str(p) for p in snippet_problems("c.md", snippet, outcome)] == [
        "c.md:3: runnable 's' failed (error): ZeroDivisionError: division by zero"
    ]


def test_the_real_chapter_passes_with_its_snippets_run_in_the_sandbox() -> None:
    assert check_content(Settings(), run_snippets=True) == []


def test_a_snippet_that_stops_printing_what_it_promised_fails_the_check(tmp_path: Path) -> None:
    content = tmp_path / "content" / "vol2"
    content.mkdir(parents=True)
    source = (Path(__file__).resolve().parents[2] / "content" / "vol2" / "06-fine-tuning.md").read_text()
    broken = source.replace(
        'print("merged == two-path    :", np.allclose(y_two_path, y_merged))', 'print("merged == two-path    :", False)'
    )
    (content / "06-fine-tuning.md").write_text(broken)
    problems = [str(p) for p in check_content(Settings(content_dir=tmp_path / "content"), run_snippets=True)]
    line = source.splitlines().index("```runnable lora-algebra") + 1
    assert problems == [
        f"content/vol2/06-fine-tuning.md:{line}: runnable 'lora-algebra': "
        "expected output line not printed: 'merged == two-path    : True'"
    ]


def test_check_verifies_variant_formulas_and_sampled_variants(tmp_path: Path) -> None:
    content = tmp_path / "content" / "vol2"
    content.mkdir(parents=True)
    source = (Path(__file__).resolve().parents[2] / "content" / "vol2" / "06-fine-tuning.md").read_text()
    line = source.splitlines().index("id: lora-adapter-params")  # the fence opens one line above
    wrong_formula = source.replace("formula: 2 * d * r,", "formula: 3 * d * r,")
    (content / "06-fine-tuning.md").write_text(wrong_formula)
    problems = [str(p) for p in check_content(Settings(content_dir=tmp_path / "content"), run_snippets=False)]
    assert (
        f"content/vol2/06-fine-tuning.md:{line}: exercise 'lora-adapter-params': the answer: "
        "formula '3 * d * r' gives 98304 for the chapter's numbers, but the text says 65536"
        in problems
    )
    # 2b is 2^b at b = 2: that variant could not tell its mistake from its answer.
    unanswerable = source.replace("b: {value: 4, choices: [3, 4, 5, 6, 8]}", "b: {value: 4, choices: [2, 4]}")
    (content / "06-fine-tuning.md").write_text(unanswerable)
    problems = [str(p) for p in check_content(Settings(content_dir=tmp_path / "content"), run_snippets=False)]
    assert any(
        "exercise 'nf4-levels-count': variant (b=2): mistake 1 is within tolerance of the answer 4" in p
        for p in problems
    ), problems
