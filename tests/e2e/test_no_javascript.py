"""With JavaScript off, every form still works through full-page responses."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from tests.e2e.conftest import NewPage
from tests.e2e.support import CHAPTER, E2E, readout

pytestmark = E2E


@pytest.fixture
def page(new_page: NewPage) -> Page:
    no_js = new_page(java_script_enabled=False)
    no_js.goto(CHAPTER)
    expect(no_js.locator("html")).to_have_class(re.compile(r"\bno-js\b"))
    return no_js


def test_an_exercise_posts_and_the_page_comes_back_with_the_verdict(page: Page) -> None:
    page.locator("#ex-full-ft-memory-answer").fill("14")
    with page.expect_navigation():
        page.locator("#ex-full-ft-memory").get_by_role("button", name="Check").click()
    assert page.url.endswith("/chapters/fine-tuning/exercises/full-ft-memory#ex-full-ft-memory")
    result = page.locator("#ex-full-ft-memory-result")
    expect(result.locator(".verdict-incorrect .feedback")).to_contain_text("bf16")
    expect(page.locator("#ex-full-ft-memory-answer")).to_have_value("14")

    with page.expect_navigation():
        result.get_by_role("button", name="Show solution").click()
    expect(result.locator(".solution")).to_be_visible()

    page.locator("#ex-full-ft-memory-answer").fill("112 GB")
    with page.expect_navigation():
        page.locator("#ex-full-ft-memory-answer").press("Enter")
    expect(result.locator(".verdict-correct .verdict-word")).to_have_text("Correct.")
    expect(page.locator(".chapter-facts .progress")).to_have_text("1 of 5 solved")
    # The rest of the chapter is all there in the full-page response.
    expect(page.locator("section.exercise")).to_have_count(5)
    expect(page.locator("section.instrument")).to_have_count(3)


def test_an_instrument_form_updates_through_its_noscript_button(page: Page) -> None:
    form = page.locator("#lora-counter form")
    update = form.get_by_role("button", name="Update")
    expect(update).to_be_visible()
    form.locator("#lora-counter-r").fill("32")
    form.locator("#lora-counter-d_out").fill("4096")
    with page.expect_navigation():
        update.click()
    assert "lora-counter.r=32" in page.url and page.url.endswith("#lora-counter")
    expect(page.locator("#lora-counter-r")).to_have_value("32")
    expect(page.locator("#lora-counter-d_out")).to_have_value("4096")
    results = page.locator("#lora-counter-results")
    expect(readout(results, "LoRA params r(d_in+d_out)").first).to_have_text("393,216")  # 32 · (8192 + 4096)
    expect(readout(results, "Full ΔW params (d_out·d_in)").first).to_have_text("33,554,432")  # 4096 · 8192

    nf4 = page.locator("#nf4-levels form")
    nf4.get_by_label("256").check()
    with page.expect_navigation():
        nf4.get_by_role("button", name="Update").click()
    expect(page.locator('input[name="nf4-levels.block_size"]:checked')).to_have_value("256")
    expect(readout(page.locator("#nf4-levels-results"), "Bits / param")).to_have_text("4.125")


def test_a_snippet_posts_and_the_page_comes_back_with_the_output(page: Page) -> None:
    snippet = page.locator("#snippet-lora-algebra")
    editor = page.locator("#snippet-lora-algebra-code")
    original = editor.input_value()
    expect(editor).to_be_visible()
    expect(snippet.locator(".code-view")).to_be_hidden()
    expect(snippet.get_by_role("button", name="Edit")).to_be_hidden()

    editor.fill("print(6 * 7)")
    with page.expect_navigation(timeout=30_000):
        snippet.get_by_role("button", name="Run").click()
    output = page.locator("#snippet-lora-algebra-output")
    expect(output.locator(".run-status-ok")).to_contain_text("Ran in")
    expect(output.locator("pre.stdout")).to_have_text("42")
    expect(editor).to_have_value("print(6 * 7)")  # the edited code comes back with its output

    with page.expect_navigation():
        snippet.get_by_role("button", name="Reset").click()
    expect(editor).to_have_value(original)
    expect(output.locator(".run-status")).to_have_count(0)


def test_sliders_that_need_javascript_are_hidden_without_it(page: Page) -> None:
    expect(page.locator("#lora-counter-r")).to_be_visible()
    expect(page.locator("#lora-counter-r-range")).to_be_hidden()
