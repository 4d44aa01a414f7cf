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
        "formula '3 * d * r' gives 98304 for the chapter's numbers, but the text says 65536" in problems
    )
    # 2b is 2^b at b = 2: that variant could not tell its mistake from its answer.
    unanswerable = source.replace("b: {value: 4, choices: [3, 4, 5, 6, 8]}", "b: {value: 4, choices: [2, 4]}")
    (content / "06-fine-tuning.md").write_text(unanswerable)
    problems = [str(p) for p in check_content(Settings(content_dir=tmp_path / "content"), run_snippets=False)]
    assert any(
        "exercise 'nf4-levels-count': variant (b=2): mistake 1 is within tolerance of the answer 4" in p
        for p in problems
    ), problems


COMPRESSION = Path(__file__).resolve().parents[2] / "content" / "vol2" / "07-compression.md"
FINE_TUNING = COMPRESSION.with_name("06-fine-tuning.md")


def check_edited_compression(tmp_path: Path, old: str, new: str, chapter: Path = COMPRESSION) -> tuple[list[str], int]:
    """`textbook check` (no runs) on Chapter 07 (or `chapter`) with one edit; the problems and the edited line."""
    content = tmp_path / "content" / "vol2"
    content.mkdir(parents=True)
    source = chapter.read_text()
    assert source.count(old) == 1, old
    (content / chapter.name).write_text(source.replace(old, new))
    before = source[: source.index(old)]
    own_line = before[before.rfind("\n") + 1 :]
    paragraph_start = before[: before.rfind("\n\n") + 2].count("\n") + 1  # where the paragraph's line is counted
    line = before.count("\n") + 1 if own_line.startswith("|") else paragraph_start
    return [str(p) for p in check_content(Settings(content_dir=tmp_path / "content"), run_snippets=False)], line


def test_the_chapters_computed_numbers_are_all_claims_that_hold() -> None:
    from app.content.loader import ChapterLibrary
    from app.content.markdown import build_markdown
    from app.instruments.catalog import INSTRUMENT_CATALOG

    md = build_markdown(INSTRUMENT_CATALOG)
    from app.content.loader import load_chapter

    chapter, problems = load_chapter(COMPRESSION, md)
    assert chapter is not None and problems == []
    html = "".join(getattr(b, "html", "") for b in chapter.blocks)
    assert html.count('class="computed"') >= 30  # the format table, the error sweep, both instruments' figures
    assert 'data-computed-by="instrument deploy-memory"' in html and "{instrument=" not in html
    assert ChapterLibrary(COMPRESSION.parents[1], md).problems() == []


def test_a_wrong_snippet_number_in_the_prose_fails_the_check(tmp_path: Path) -> None:
    problems, line = check_edited_compression(
        tmp_path, "([0.170]{snippet=outlier-scales} at 5 bits", "([0.171]{snippet=outlier-scales} at 5 bits"
    )
    assert problems == [
        f"content/vol2/07-compression.md:{line}: computed number '0.171': "
        "snippet 'outlier-scales' promises no such number on its '#| expect:' lines"
    ]


def test_a_wrong_number_in_the_format_table_fails_the_check(tmp_path: Path) -> None:
    problems, line = check_edited_compression(
        tmp_path, "[57.4 GB]{snippet=bits-per-weight}", "[56.4 GB]{snippet=bits-per-weight}"
    )
    assert problems == [
        f"content/vol2/07-compression.md:{line}: computed number '56.4 GB': "
        "snippet 'bits-per-weight' promises no such number on its '#| expect:' lines"
    ]


def test_a_wrong_instrument_figure_in_the_prose_fails_the_check(tmp_path: Path) -> None:
    problems, line = check_edited_compression(
        tmp_path,
        "[1.34 GB]{instrument=deploy-memory figure=kv_cache_gb}",
        "[1.43 GB]{instrument=deploy-memory figure=kv_cache_gb}",
    )
    assert problems == [
        f"content/vol2/07-compression.md:{line}: computed number '1.43 GB': "
        "instrument 'deploy-memory' shows 1.34218 for kv_cache_gb"
    ]
    problems, _ = check_edited_compression(
        tmp_path / "2",
        '[0.159]{instrument=quant-error figure="methods.2.output_error" group_size=32}',
        '[0.159]{instrument=quant-error figure="methods.2.output_error" group_size=64}',
    )
    assert len(problems) == 1 and "instrument 'quant-error' shows 0.2" in problems[0], problems


def test_a_wrong_number_in_a_callout_fails_the_check(tmp_path: Path) -> None:
    problems, _ = check_edited_compression(
        tmp_path, "formats cost [4.127]{snippet=bits-per-weight}", "formats cost [4.1]{snippet=bits-per-weight}"
    )
    assert problems == []  # 4.127 rounds to 4.1: the precision written is the precision checked
    problems, _ = check_edited_compression(
        tmp_path / "2", "formats cost [4.127]{snippet=bits-per-weight}", "formats cost [4.13]{snippet=bits-per-weight}"
    )
    assert problems == []
    problems, _ = check_edited_compression(
        tmp_path / "3", "formats cost [4.127]{snippet=bits-per-weight}", "formats cost [4.3]{snippet=bits-per-weight}"
    )
    assert len(problems) == 1 and "computed number '4.3': snippet 'bits-per-weight'" in problems[0]


def test_a_claim_must_name_one_source_that_exists(tmp_path: Path) -> None:
    problems, line = check_edited_compression(
        tmp_path, "[0.086]{snippet=outlier-scales}", "[0.086]{snippet=outlier-scale}"
    )
    assert problems == [
        f"content/vol2/07-compression.md:{line}: computed number '0.086': no snippet 'outlier-scale' in this chapter "
        "(ids: bits-per-weight, outlier-scales, distill-temperature)"
    ]
    problems, _ = check_edited_compression(tmp_path / "2", "[0.086]{snippet=outlier-scales}", "[0.086]{x=1}")
    assert len(problems) == 1 and "name exactly one of snippet=<id> or instrument=<id>" in problems[0]
    # A claim the attrs syntax cannot read would print as text, unchecked: that is a problem too.
    problems, _ = check_edited_compression(
        tmp_path / "3",
        '[0.465]{instrument=quant-error figure="methods.0.output_error"}',
        "[0.465]{instrument=quant-error figure=methods.0.output_error}",
    )
    assert len(problems) == 1 and "computed number not read (quote a value with a dot)" in problems[0], problems


def test_printed_numbers_stand_on_their_own() -> None:
    from app.content.claims import claim_problems
    from app.content.model import Claim

    snippet = Snippet(
        id="s", title=None, code="", code_html="", expect=("GGUF Q4_K  4.500 bits for 70B",), expect_figures=0, line=1
    )
    holds = {
        text: claim_problems(Claim(text, "snippet", "s", (), (), 1), {"s": snippet}, {}) == []
        for text in ("4.5", "4.50", "4.4", "70", "4.6")
    }
    assert holds == {"4.5": True, "4.50": True, "4.4": False, "70": False, "4.6": False}


def test_chapter_06s_computed_numbers_hold() -> None:
    from app.content.loader import load_chapter
    from app.content.markdown import build_markdown
    from app.instruments.catalog import INSTRUMENT_CATALOG

    chapter, problems = load_chapter(FINE_TUNING, build_markdown(INSTRUMENT_CATALOG))
    assert chapter is not None and problems == []
    html = "".join(getattr(b, "html", "") for b in chapter.blocks)
    assert html.count('class="computed"') >= 3 and "{instrument=" not in html


def test_a_number_written_in_another_unit_is_checked_after_its_scale(tmp_path: Path) -> None:
    problems, _ = check_edited_compression(
        tmp_path, "~[1.1 TB]{instrument=vram-fit", "~[1.2 TB]{instrument=vram-fit", FINE_TUNING
    )
    assert len(problems) == 1, problems
    assert (
        "computed number '1.2 TB': instrument 'vram-fit' shows 1.10847 for by_method.full.total_gb x 0.001"
        in problems[0]
    )


def test_a_difference_of_two_figures_is_checked(tmp_path: Path) -> None:
    problems, _ = check_edited_compression(
        tmp_path, "~[0.4]{instrument=nf4-levels", "~[0.3]{instrument=nf4-levels", FINE_TUNING
    )
    assert len(problems) == 1, problems
    assert "shows 0.373047 for bits_per_param-bits_per_param_double_quant" in problems[0]


def test_a_scale_must_be_a_number(tmp_path: Path) -> None:
    problems, _ = check_edited_compression(tmp_path, 'scale="0.001"', 'scale="thousandth"', FINE_TUNING)
    assert len(problems) == 1 and "scale=thousandth is not a number" in problems[0], problems
