"""Chapter 07 in the browser, as Chapter 06 is tested: exercises, instruments, snippets, layouts."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from tests.e2e.conftest import NewPage
from tests.e2e.support import (
    E2E,
    SWAP_TIMEOUT_MS,
    assert_same_document,
    mark_document,
    readout,
    results_text,
    screenshot,
)
from tests.e2e.test_instruments import press_and_wait, query_of
from tests.e2e.test_layout import MISFITS, PHONE, assert_no_sideways_scroll
from tests.e2e.test_snippets import snippet_run

pytestmark = E2E

COMPRESSION = "/chapters/compression"

# (exercise id, a correct answer, the worked solution's last bold value)
CORRECT = [
    ("decode-bound-7b", "72", "72"),
    ("int4-g128-bits", "4.15625", "4.15625"),
    ("q4k-70b-weights", "39.4 GB", "39.4 GB"),
    ("outlier-levels", "6", "6"),
    ("kd-t-squared", "16", "16"),
]


@pytest.mark.parametrize(("exercise_id", "answer", "solution_text"), CORRECT, ids=[c[0] for c in CORRECT])
def test_a_correct_answer_is_graded_in_place_and_kept(
    page: Page, exercise_id: str, answer: str, solution_text: str
) -> None:
    page.goto(COMPRESSION)
    mark_document(page)
    exercise = page.locator(f"#ex-{exercise_id}")
    exercise.locator(".answer-input").fill(answer)
    with page.expect_response(lambda r: r.url.endswith(f"/exercises/{exercise_id}") and r.request.method == "POST"):
        exercise.get_by_role("button", name="Check").click()
    result = page.locator(f"#ex-{exercise_id}-result")
    expect(result.locator(".verdict")).to_have_class(re.compile(r"\bverdict-correct\b"), timeout=SWAP_TIMEOUT_MS)
    expect(result.locator(".solution strong").last).to_have_text(solution_text)
    assert_same_document(page)
    page.reload()
    expect(result.locator(".verdict-correct .verdict-word")).to_have_text("Correct.")
    expect(page.locator(".chapter-facts .progress")).to_have_text("1 of 5 solved")


def test_a_wrong_answer_gets_its_anticipated_feedback(page: Page) -> None:
    page.goto(COMPRESSION)
    exercise = page.locator("#ex-int4-g128-bits")
    exercise.locator(".answer-input").fill("4")
    with page.expect_response(lambda r: r.url.endswith("/exercises/int4-g128-bits") and r.request.method == "POST"):
        exercise.get_by_role("button", name="Check").click()
    expect(page.locator("#ex-int4-g128-bits-result")).to_contain_text(
        "4 bits is the code alone", timeout=SWAP_TIMEOUT_MS
    )


def test_bits_per_weight_instrument_follows_its_controls(page: Page) -> None:
    page.goto(COMPRESSION)
    mark_document(page)
    results = page.locator("#deploy-memory-results")
    expect(readout(results, "Bits / weight (int4, per group)").first).to_have_text(
        "4.156"
    )  # int4, g128, fp16 scale + 4-bit zero
    press_and_wait(page, page.locator('input[name="deploy-memory.zero_bits"]:checked'), "ArrowLeft", "deploy-memory")
    expect(readout(results, "Bits / weight (int4, per group)").first).to_have_text("4.125")  # symmetric: no zero point
    batch_before = readout(results, "KV cache").first.inner_text()
    press_and_wait(page, page.locator("#deploy-memory-batch-range"), "ArrowRight", "deploy-memory")
    expect(page.locator("#deploy-memory-batch")).to_have_value("2")
    assert readout(results, "KV cache").first.inner_text() != batch_before
    assert query_of(page.url)["deploy-memory.batch"] == ["2"] and query_of(page.url)["deploy-memory.zero_bits"] == ["0"]
    assert_same_document(page)
    screenshot(page.locator("#deploy-memory"), "compression-instrument-7-1-1280-light")


def test_quant_error_instrument_redraws_its_chart_and_reopens(page: Page, new_page: NewPage) -> None:
    page.goto(COMPRESSION)
    mark_document(page)
    before = page.locator("#quant-error-results figure.chart svg").inner_html()
    press_and_wait(page, page.locator('input[name="quant-error.group_size"]:checked'), "ArrowLeft", "quant-error")
    expect(page.locator('input[name="quant-error.group_size"]:checked')).to_have_value("64")
    expect(page.locator("#quant-error-results .live-sentence")).to_contain_text("per group of 64")
    press_and_wait(page, page.locator("#quant-error-bits-range"), "ArrowRight", "quant-error")
    expect(page.locator("#quant-error-results .live-sentence")).to_contain_text("At 5 bits")
    after = page.locator("#quant-error-results figure.chart svg").inner_html()
    assert after != before
    assert_same_document(page)
    screenshot(page.locator("#quant-error"), "compression-instrument-7-2-1280-light")
    shared = new_page()
    shared.goto(page.url)
    expect(shared.locator("#quant-error-bits")).to_have_value("5")
    assert results_text(shared, "quant-error") == results_text(page, "quant-error")


# (snippet id, a line its output must show)
SNIPPETS = [
    ("bits-per-weight", "GPTQ/AWQ int4, g128   4.156 bits/weight    36.4 GB for 70B"),
    ("outlier-scales", "int4 per group 128  relative error 0.278"),
    ("distill-temperature", "entropy of the soft targets: 0.133 nats at T=1, 1.556 at T=10"),
]


@pytest.mark.parametrize(("snippet_id", "printed"), SNIPPETS, ids=[s[0] for s in SNIPPETS])
def test_snippets_run_and_draw(page: Page, snippet_id: str, printed: str) -> None:
    page.goto(COMPRESSION)
    snippet_run(page, snippet_id, "button")
    output = page.locator(f"#snippet-{snippet_id}-output")
    expect(output.locator(".run-status-ok")).to_contain_text("Ran in")
    expect(output.locator("pre.stdout")).to_contain_text(printed)
    figure = output.locator("figure.run-figure img")
    expect(figure).to_have_count(1)
    assert figure.evaluate("img => img.complete && img.naturalWidth > 100 && img.naturalHeight > 100")
    if snippet_id == "outlier-scales":
        screenshot(page.locator(f"#snippet-{snippet_id}"), "compression-snippet-1280-light")


@pytest.mark.parametrize("scheme", ["light", "dark"])
@pytest.mark.parametrize("width", [1280, 375])
def test_chapter_07_layout(new_page: NewPage, scheme: str, width: int) -> None:
    page = new_page(viewport=PHONE if width == 375 else {"width": 1280, "height": 900}, color_scheme=scheme)
    page.goto(COMPRESSION)
    page.wait_for_function("() => !document.querySelector('.chart-pending')")
    assert_no_sideways_scroll(page)
    assert page.evaluate(MISFITS) == []
    screenshot(page, f"compression-{width}-{scheme}")
    page.locator("#deploy-memory").scroll_into_view_if_needed()
    screenshot(page.locator("#deploy-memory"), f"compression-7-1-{width}-{scheme}")
    page.locator("#quant-error").scroll_into_view_if_needed()
    screenshot(page.locator("#quant-error"), f"compression-7-2-{width}-{scheme}")
    page.goto("/")
    expect(page.locator("a.chapter-link")).to_have_count(2)
    screenshot(page, f"index-two-chapters-{width}-{scheme}")


Q4K_NUMBERS = re.compile(r"A (\d+)B-parameter model is stored entirely at ([\d.]+) bits per\s+weight")


def test_try_another_q4k_variant_then_open_its_instrument(page: Page) -> None:
    page.goto(COMPRESSION)
    mark_document(page)
    exercise = page.locator("#ex-q4k-70b-weights")
    exercise.get_by_role("button", name="Try another").click()
    expect(exercise.locator(".variant-badge")).to_have_text(re.compile("practice variant"), timeout=SWAP_TIMEOUT_MS)
    found = Q4K_NUMBERS.search(page.locator("#ex-q4k-70b-weights .exercise-prompt").text_content() or "")
    assert found, page.locator("#ex-q4k-70b-weights .exercise-prompt").text_content()
    n, bpw = int(found.group(1)), float(found.group(2))
    assert (n, bpw) != (70, 4.5)
    answer = n * bpw / 8
    exercise = page.locator("#ex-q4k-70b-weights")
    exercise.locator(".answer-input").fill(f"{n * bpw:g} GB")  # bytes per weight, not bits
    exercise.get_by_role("button", name="Check").click()
    verdict = page.locator("#ex-q4k-70b-weights-result .verdict")
    expect(verdict).to_have_class(re.compile(r"\bverdict-incorrect\b"), timeout=SWAP_TIMEOUT_MS)
    expect(verdict).to_contain_text(f"{bpw:g} bytes per weight")
    exercise.locator(".answer-input").fill(f"{answer:g} GB")
    exercise.get_by_role("button", name="Check").click()
    expect(verdict).to_have_class(re.compile(r"\bverdict-correct\b"), timeout=SWAP_TIMEOUT_MS)
    assert_same_document(page)
    link = page.locator("#ex-q4k-70b-weights-result .solution-instrument a")
    expect(link).to_have_text("See it in Instrument 7.1")
    screenshot(page.locator("#ex-q4k-70b-weights"), "compression-variant-solved")
    link.click()
    page.wait_for_url(re.compile(r"highlight=q4k-70b-weights#deploy-memory$"))
    instrument = page.locator("#deploy-memory")
    expect(instrument.locator("input[name='deploy-memory.params_billion']").first).to_have_value(f"{n:g}")
    expect(instrument.locator(".highlighted-figure")).to_have_text(f"{answer:g} GB")
    screenshot(instrument, "compression-solution-instrument-link")


def test_the_decode_bound_solution_opens_instrument_7_1_on_the_card(page: Page) -> None:
    page.goto(COMPRESSION)
    exercise = page.locator("#ex-decode-bound-7b")
    exercise.locator(".answer-input").fill("72")
    exercise.get_by_role("button", name="Check").click()
    link = page.locator("#ex-decode-bound-7b-result .solution-instrument a")
    expect(link).to_have_text("See it in Instrument 7.1", timeout=SWAP_TIMEOUT_MS)
    link.click()
    page.wait_for_url(re.compile(r"deploy-memory\.card=rtx-4090.*highlight=decode-bound-7b#deploy-memory$"))
    instrument = page.locator("#deploy-memory")
    expect(instrument.locator(".highlighted-figure")).to_have_text("71.6568")
    expect(instrument.locator(".live-sentence")).to_contain_text("GeForce RTX 4090")


def test_computed_numbers_read_as_plain_numbers(page: Page) -> None:
    page.goto(COMPRESSION)
    numbers = page.locator(".chapter-body .computed, main .computed")
    assert numbers.count() >= 30
    expect(page.locator("[data-computed-by='instrument deploy-memory']").first).to_have_text("36.6 GB")
    expect(page.get_by_text("{snippet=")).to_have_count(0)
    expect(page.get_by_text("{instrument=")).to_have_count(0)
