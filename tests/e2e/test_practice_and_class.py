"""Practice variants, the take-home notebook and the instructor view, in a real browser."""

from __future__ import annotations

import re
from pathlib import Path

import nbformat
from playwright.sync_api import Page, expect

from tests.e2e.conftest import NewPage
from tests.e2e.support import (
    CHAPTER,
    E2E,
    INSTRUCTOR_TOKEN,
    SWAP_TIMEOUT_MS,
    BrowserProblems,
    assert_same_document,
    mark_document,
    screenshot,
)

pytestmark = E2E

NUMBERS = re.compile(r"=\s*(\d+)\.\s*You attach a LoRA adapter of rank r\s*=\s*(\d+)")


def test_try_another_then_answer_it_wrong_and_right(page: Page) -> None:
    page.goto(CHAPTER)
    mark_document(page)
    exercise = page.locator("#ex-lora-adapter-params")
    exercise.get_by_role("button", name="Try another").click()
    expect(exercise.locator(".variant-badge")).to_have_text(re.compile("practice variant"), timeout=SWAP_TIMEOUT_MS)
    assert_same_document(page)
    prompt = page.locator("#ex-lora-adapter-params .exercise-prompt").text_content() or ""
    found = NUMBERS.search(prompt)
    assert found, prompt
    d, r = int(found.group(1)), int(found.group(2))
    assert (d, r) != (4096, 8)

    exercise = page.locator("#ex-lora-adapter-params")
    exercise.locator(".answer-input").fill(str(d * r))
    exercise.get_by_role("button", name="Check").click()
    verdict = page.locator("#ex-lora-adapter-params-result .verdict")
    expect(verdict).to_have_class(re.compile(r"\bverdict-incorrect\b"), timeout=SWAP_TIMEOUT_MS)
    expect(verdict).to_contain_text(f"{d * r:,} is one of the two matrices")

    exercise.locator(".answer-input").fill(str(2 * d * r))
    exercise.get_by_role("button", name="Check").click()
    expect(verdict).to_have_class(re.compile(r"\bverdict-correct\b"), timeout=SWAP_TIMEOUT_MS)
    solution = page.locator("#ex-lora-adapter-params-result .solution")
    expect(solution).to_contain_text("your numbers")
    expect(solution.locator("strong").last).to_have_text(f"{2 * d * r:,}")
    assert_same_document(page)
    screenshot(page.locator("#ex-lora-adapter-params"), "practice-variant-solved")

    page.reload()
    kept = page.locator("#ex-lora-adapter-params")
    expect(kept.locator(".variant-badge")).to_be_visible()
    assert NUMBERS.search(kept.locator(".exercise-prompt").text_content() or "").groups() == (str(d), str(r))  # type: ignore[union-attr]


def test_feedback_shows_math_not_carets(page: Page) -> None:
    page.goto(CHAPTER)
    exercise = page.locator("#ex-full-ft-memory")
    exercise.locator(".answer-input").fill("104.3")
    exercise.get_by_role("button", name="Check").click()
    feedback = page.locator("#ex-full-ft-memory-result .feedback")
    expect(feedback.locator("math").first).to_be_visible(timeout=SWAP_TIMEOUT_MS)
    assert "^" not in feedback.inner_text()
    screenshot(page.locator("#ex-full-ft-memory"), "feedback-with-math")


def test_download_the_notebook(page: Page, tmp_path: Path) -> None:
    page.goto(CHAPTER)
    with page.expect_download() as download_info:
        page.get_by_role("link", name="Download notebook").click()
    download = download_info.value
    assert download.suggested_filename == "2-06-fine-tuning.ipynb"
    path = tmp_path / download.suggested_filename
    download.save_as(path)
    notebook = nbformat.read(path, as_version=4)
    nbformat.validate(notebook)
    assert "def plot_xy(" in notebook.cells[1].source
    assert sum(1 for c in notebook.cells if c.cell_type == "code") == 3


def test_the_instructor_view_with_the_class_seeded(
    page: Page, new_page: NewPage, browser_problems: BrowserProblems
) -> None:
    browser_problems.allow(401)  # the sign-in page, and a wrong token, answer 401
    for answers in (["14", "112"], ["112"], ["56", "28"], ["14"]):
        learner = new_page()
        for answer in answers:
            learner.request.post("/api/exercises/full-ft-memory/check", data={"answer": answer})
        learner.request.post("/api/exercises/nf4-levels-count/check", data={"answer": "8"})
    page.goto("/instructor")
    expect(page.get_by_role("heading", name="What the class finds hard")).to_be_visible()
    page.get_by_label("Instructor token").fill("not the token")
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("alert")).to_have_text("That is not the instructor token.")
    page.get_by_label("Instructor token").fill(INSTRUCTOR_TOKEN)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("heading", name="Exercises")).to_be_visible()
    charts = page.locator("svg[role=img]")
    expect(charts).to_have_count(2)
    wrong = page.locator("#wrong-full-ft-memory").locator("xpath=..")
    expect(wrong.locator("tbody tr").first).to_contain_text("14")
    expect(wrong.locator("tbody tr").first).to_contain_text("bf16 weights alone")
    screenshot(page, "instructor-view", full_page=True)


def test_a_solutions_instrument_link_opens_the_settings_with_the_figure_highlighted(page: Page) -> None:
    page.goto(CHAPTER)
    exercise = page.locator("#ex-lora-adapter-params")
    exercise.locator(".answer-input").fill("65536")
    exercise.get_by_role("button", name="Check").click()
    link = page.locator("#ex-lora-adapter-params-result .solution-instrument a")
    expect(link).to_have_text("See it in Instrument 6.1", timeout=SWAP_TIMEOUT_MS)
    link.click()
    page.wait_for_url(re.compile(r"lora-counter\.r=8.*highlight=lora-adapter-params#lora-counter$"))
    instrument = page.locator("#lora-counter")
    expect(instrument.locator("input[name='lora-counter.d_in']").first).to_have_value("4096")
    expect(instrument.locator("input[name='lora-counter.r']").first).to_have_value("8")
    expect(instrument.locator(".highlighted-figure")).to_have_text("65,536 parameters")
    screenshot(instrument, "solution-instrument-link")
