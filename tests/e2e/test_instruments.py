"""Instruments in the browser: keyboard on a slider or radio, new numbers in place, a URL that reopens them."""

from __future__ import annotations

import re
from urllib.parse import parse_qs, urlsplit

from playwright.sync_api import Locator, Page, expect

from tests.e2e.conftest import NewPage
from tests.e2e.support import (
    CHAPTER,
    E2E,
    SWAP_TIMEOUT_MS,
    BrowserProblems,
    assert_same_document,
    mark_document,
    readout,
)
from tests.e2e.support import results_text as results_text_of

pytestmark = E2E


def press_and_wait(page: Page, control: Locator, key: str, instrument_id: str) -> None:
    """Press a key on a focused control and wait for the instrument's results to come back."""
    control.focus()
    with page.expect_response(lambda r: f"/instruments/{instrument_id}?" in r.url, timeout=SWAP_TIMEOUT_MS) as response:
        page.keyboard.press(key)
    response.value.finished()
    page.wait_for_function(
        "() => !document.querySelector('.htmx-request, .chart-pending')"
    )  # the chart follows the numbers


def query_of(url: str) -> dict[str, list[str]]:
    return parse_qs(urlsplit(url).query)


def chart_text(page: Page, instrument_id: str) -> str:
    return page.locator(f"#{instrument_id}-results figure.chart svg").inner_html()


def assert_reopens(new_page: NewPage, url: str, instrument_id: str, values: dict[str, str], results_text: str) -> Page:
    """A new learner opening the pushed URL sees the same settings and the same results."""
    shared = new_page()
    response = shared.goto(url)
    assert response is not None and response.status == 200
    for field, value in values.items():
        expect(shared.locator(f"#{instrument_id}-{field}")).to_have_value(value)
        expect(shared.locator(f"#{instrument_id}-{field}-range")).to_have_value(value)
    assert results_text_of(shared, instrument_id) == results_text
    return shared


def test_lora_counter_follows_its_sliders_and_the_url_reopens_it(page: Page, new_page: NewPage) -> None:
    page.goto(CHAPTER)
    mark_document(page)
    results = page.locator("#lora-counter-results")
    expect(readout(results, "LoRA params r(d_in+d_out)").first).to_have_text("262,144")  # 16 · (8192 + 8192)
    chart_before = chart_text(page, "lora-counter")

    press_and_wait(page, page.locator("#lora-counter-r-range"), "ArrowRight", "lora-counter")
    expect(page.locator("#lora-counter-r")).to_have_value("17")
    expect(readout(results, "LoRA params r(d_in+d_out)").first).to_have_text("278,528")  # 17 · 16384
    expect(readout(results, "Trainable %").first).to_have_text("0.42%")
    assert chart_text(page, "lora-counter") != chart_before

    press_and_wait(page, page.locator("#lora-counter-d_in-range"), "ArrowUp", "lora-counter")
    expect(page.locator("#lora-counter-d_in")).to_have_value("8320")  # the slider steps by 128
    expect(readout(results, "Full ΔW params (d_out·d_in)").first).to_have_text("68,157,440")  # 8192 · 8320
    expect(readout(results, "LoRA params r(d_in+d_out)").first).to_have_text("280,704")  # 17 · (8320 + 8192)
    assert_same_document(page)

    expect(page).to_have_url(re.compile(r"lora-counter\.d_in=8320"))
    query = query_of(page.url)
    assert urlsplit(page.url).path == CHAPTER
    assert query["lora-counter.r"] == ["17"] and query["lora-counter.d_in"] == ["8320"]
    assert_reopens(
        new_page,
        page.url,
        "lora-counter",
        {"r": "17", "d_in": "8320", "d_out": "8192"},
        results_text_of(page, "lora-counter"),
    )


def test_vram_fit_follows_its_slider_with_a_new_chart_and_the_url_reopens_it(page: Page, new_page: NewPage) -> None:
    page.goto(CHAPTER)
    mark_document(page)
    results = page.locator("#vram-fit-results")
    total = readout(results, "Total (QLORA)")
    total_before = float(total.get_attribute("data-value") or "nan")
    chart_before = chart_text(page, "vram-fit")

    press_and_wait(page, page.locator("#vram-fit-batch_size-range"), "ArrowRight", "vram-fit")
    expect(page.locator("#vram-fit-batch_size")).to_have_value("2")
    expect(total).not_to_have_attribute("data-value", str(total_before))
    total_after = float(total.get_attribute("data-value") or "nan")
    assert total_after > total_before, "a bigger batch needs more activation memory"
    assert chart_text(page, "vram-fit") != chart_before
    assert_same_document(page)

    expect(page).to_have_url(re.compile(r"vram-fit\.batch_size=2\b"))
    shared = assert_reopens(
        new_page,
        page.url,
        "vram-fit",
        {"batch_size": "2", "r": "16", "seq_len": "2048"},
        results_text_of(page, "vram-fit"),
    )
    assert chart_text(shared, "vram-fit") == chart_text(page, "vram-fit")


def test_nf4_levels_block_size_radios_move_with_arrow_keys_and_the_url_reopens_them(
    page: Page, new_page: NewPage
) -> None:
    page.goto(CHAPTER)
    mark_document(page)
    results = page.locator("#nf4-levels-results")
    checked = page.locator('input[name="nf4-levels.block_size"]:checked')
    expect(checked).to_have_value("64")
    # Block-wise absmax: one fp32 scale per block, 32 bits shared by 64 weights.
    expect(readout(results, "Bits / param")).to_have_text("4.500")

    press_and_wait(page, checked, "ArrowRight", "nf4-levels")
    expect(checked).to_have_value("128")
    expect(checked).to_be_focused()
    expect(readout(results, "Bits / param")).to_have_text("4.250")
    expect(results.locator(".live-sentence")).to_contain_text("At block size 128")
    assert_same_document(page)
    expect(page).to_have_url(re.compile(r"nf4-levels\.block_size=128\b"))

    press_and_wait(page, page.locator('input[name="nf4-levels.block_size"]:checked'), "ArrowLeft", "nf4-levels")
    press_and_wait(page, page.locator('input[name="nf4-levels.block_size"]:checked'), "ArrowLeft", "nf4-levels")
    expect(checked).to_have_value("32")
    expect(readout(results, "Bits / param")).to_have_text("5.000")
    expect(page).to_have_url(re.compile(r"nf4-levels\.block_size=32\b"))

    shared = new_page()
    shared.goto(page.url)
    expect(shared.locator('input[name="nf4-levels.block_size"]:checked')).to_have_value("32")
    assert results_text_of(shared, "nf4-levels") == results_text_of(page, "nf4-levels")


def test_two_instruments_share_one_url(page: Page, new_page: NewPage) -> None:
    page.goto(CHAPTER)
    press_and_wait(page, page.locator("#lora-counter-r-range"), "ArrowLeft", "lora-counter")
    press_and_wait(page, page.locator('input[name="nf4-levels.block_size"]:checked'), "ArrowRight", "nf4-levels")
    expect(page).to_have_url(re.compile(r"nf4-levels\.block_size=128\b"))
    query = query_of(page.url)
    assert query["lora-counter.r"] == ["15"] and query["nf4-levels.block_size"] == ["128"]
    shared = new_page()
    shared.goto(page.url)
    expect(shared.locator("#lora-counter-r")).to_have_value("15")
    expect(shared.locator('input[name="nf4-levels.block_size"]:checked')).to_have_value("128")


def test_a_refused_setting_is_explained_in_place(page: Page, browser_problems: BrowserProblems) -> None:
    browser_problems.allow(422)
    page.goto(CHAPTER)
    mark_document(page)
    results = page.locator("#lora-counter-results")
    boxes = page.locator('input[type=checkbox][name="lora-counter.targets"]')
    expect(boxes).to_have_count(7)
    # Untick every target module with the keyboard (Space); the last one leaves none.
    for index in range(7):
        with page.expect_response(lambda r: "/instruments/lora-counter?" in r.url) as response:
            boxes.nth(index).focus()
            page.keyboard.press("Space")
        response.value.finished()
    assert response.value.status == 422
    error = results.locator(".inline-error[role=alert]")
    expect(error).to_contain_text("targets: choose at least one module")
    expect(results.locator(".readout")).to_have_count(0)
    assert "lora-counter.targets=&" not in page.url and not page.url.endswith("lora-counter.targets="), (
        "a refused setting must not be pushed into the URL"
    )

    with page.expect_response(lambda r: "/instruments/lora-counter?" in r.url and r.status == 200):
        boxes.nth(0).check()
    expect(error).to_have_count(0)
    expect(results.locator(".instrument-label").last).to_contain_text("q_proj")
    expect(page).to_have_url(re.compile(r"lora-counter\.targets=q_proj(&|$)"))
    assert_same_document(page)


def test_an_out_of_range_number_is_explained_in_place(page: Page, browser_problems: BrowserProblems) -> None:
    browser_problems.allow(422)
    page.goto(CHAPTER)
    page.locator("#lora-counter-r").fill("999")
    error = page.locator("#lora-counter-results .inline-error[role=alert]")
    expect(error).to_contain_text("must be between 1 and 256", timeout=3_000)
