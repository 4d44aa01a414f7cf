"""The chapter and the index load cleanly in a real browser, with server-rendered MathML."""

from __future__ import annotations

import re

from playwright.sync_api import Page, expect

from tests.e2e.support import CHAPTER, E2E, BrowserProblems, screenshot

pytestmark = E2E

# Text outside code and math that still looks like TeX means an equation was not converted.
UNCONVERTED_TEX = """() => {
  const walker = document.createTreeWalker(document.querySelector("article.chapter"), NodeFilter.SHOW_TEXT);
  const found = [];
  for (let node = walker.nextNode(); node; node = walker.nextNode()) {
    if (node.parentElement.closest("pre, code, textarea, template, math, script, style")) continue;
    const text = node.textContent;
    if (/\\$|\\\\\\(|\\\\\\[|\\\\frac|\\\\times|\\\\text/.test(text)) found.push(text.trim().slice(0, 80));
  }
  return found;
}"""


def test_chapter_loads_with_every_part_visible_and_mathml_equations(page: Page) -> None:
    response = page.goto(CHAPTER)
    assert response is not None and response.status == 200
    # Our JS ran and htmx loaded (a missing vendor file would leave the page inert).
    expect(page.locator("html")).to_have_class(re.compile(r"\bjs\b"))
    assert page.evaluate("typeof window.htmx") == "object"

    expect(page.locator("h1.chapter-title")).to_have_text("Fine-tuning")
    for selector, count in [
        ("h2.section-heading", 6),
        ("section.exercise", 5),
        ("section.snippet", 2),
        ("section.instrument", 3),
    ]:
        parts = page.locator(selector)
        expect(parts).to_have_count(count)
        for index in range(count):
            expect(parts.nth(index)).to_be_visible()

    # Equations are MathML rendered by the server: inline and labelled display equations.
    maths = page.locator("article.chapter math")
    assert maths.count() >= 20
    expect(page.locator('article.chapter math[display="block"]').first).to_be_visible()
    assert page.evaluate(UNCONVERTED_TEX) == []
    # The browser lays MathML out (a <math> it did not understand would have no box).
    box = page.locator('article.chapter math[display="block"]').first.bounding_box()
    assert box is not None and box["height"] > 10 and box["width"] > 100

    # Every instrument rendered its results and a chart on first load (no request needed).
    for instrument in ("lora-counter", "vram-fit", "nf4-levels"):
        expect(page.locator(f"#{instrument}-results .readout").first).to_be_visible()
        expect(page.locator(f"#{instrument}-results figure.chart svg")).to_be_visible()

    screenshot(page, "chapter-top-1280-light")
    for instrument in ("lora-counter", "vram-fit", "nf4-levels"):
        screenshot(page.locator(f"#{instrument}"), f"instrument-{instrument}-1280-light")


def test_index_lists_the_chapter_and_links_to_it(page: Page) -> None:
    page.goto("/")
    card = page.locator("li.chapter-card", has=page.locator("a.chapter-link", has_text="Fine-tuning"))
    expect(card).to_be_visible()
    expect(card.locator(".chapter-meta")).to_contain_text("5 exercises")
    expect(card.locator(".chapter-meta")).to_contain_text("3 instruments")
    screenshot(page, "index-1280-light")
    card.locator("a.chapter-link").click()
    page.wait_for_url(f"**{CHAPTER}")
    expect(page.locator("h1.chapter-title")).to_have_text("Fine-tuning")


def test_an_unknown_chapter_is_a_styled_404(page: Page, browser_problems: BrowserProblems) -> None:
    browser_problems.allow(404)
    response = page.goto("/chapters/no-such-chapter")
    assert response is not None and response.status == 404
    expect(page.locator("h1")).to_have_text("Page not found")
    expect(page.get_by_role("link", name="Back to the index")).to_be_visible()
